#include "tools/console/assets.h"

namespace rdz::console {

const char CONSOLE_CSS[] = R"CSS(
:root { --bleu: #1d4f91; --gris: #f3f5f8; --rouge: #b3261e; --vert: #1e7b34; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1b1f24; background: #fff; }
header { background: var(--bleu); color: #fff; padding: .5rem 1rem; display: flex;
         flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; }
header a { color: #fff; text-decoration: none; }
header nav a { padding: .25rem .5rem; border-radius: 4px; }
header nav a.actif, header nav a:hover { background: rgba(255,255,255,.18); }
header .marque { font-weight: 700; letter-spacing: .04em; }
header .entites a { margin-right: .4rem; opacity: .8; }
header .entites a.actif { opacity: 1; font-weight: 700; text-decoration: underline; }
header .utilisateur { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
header form { margin: 0; }
header button { background: transparent; color: #fff; border: 1px solid #fff; }
main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #dde2e8;
         vertical-align: top; }
th { background: var(--gris); font-weight: 600; }
td.nombre, th.nombre { text-align: right; font-variant-numeric: tabular-nums; }
td.court { white-space: nowrap; }
.tableau { overflow-x: auto; }
.compteurs { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
             gap: .75rem; margin-bottom: 1rem; }
.compteur { background: var(--gris); border-radius: 6px; padding: .6rem .8rem; }
.compteur .valeur { font-size: 1.5rem; font-weight: 700; display: block; }
.compteur .nom { color: #4a5563; font-size: .85rem; }
form.fiche { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr));
             gap: .6rem 1rem; background: var(--gris); padding: 1rem; border-radius: 6px; }
form.fiche .actions, form.fiche .erreur { grid-column: 1 / -1; }
form.fiche .erreur { margin: 0; }
label { display: flex; flex-direction: column; font-size: .9rem; gap: .2rem; }
input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid #b8c1cc;
                        border-radius: 4px; }
button { background: var(--bleu); color: #fff; border-color: var(--bleu); cursor: pointer; }
button.danger { background: var(--rouge); border-color: var(--rouge); }
form.ligne { display: inline-flex; gap: .5rem; align-items: end; flex-wrap: wrap; margin: 0; }
.erreur { color: var(--rouge); background: #fdecea; padding: .5rem .75rem; border-radius: 4px; }
.info { color: var(--vert); background: #e7f4ea; padding: .5rem .75rem; border-radius: 4px; }
.statut-sent, .statut-delivered { color: var(--vert); }
.statut-failed, .statut-invalid, .statut-rejected { color: var(--rouge); font-weight: 600; }
meter { width: 8rem; }
ol.chronologie { list-style: none; padding-left: 1rem; border-left: 3px solid var(--bleu); }
ol.chronologie li { margin: 0 0 .6rem; }
ol.chronologie time { font-weight: 600; margin-right: .5rem; }
dl.fiche { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.fiche dt { color: #4a5563; }
dl.fiche dd { margin: 0; word-break: break-word; }
.graphique { position: relative; height: 280px; }
section.connexion { max-width: 360px; margin: 3rem auto; }
section.connexion form { display: flex; flex-direction: column; gap: .75rem; }
@media (max-width: 640px) {
  header { padding: .5rem; }
  header .utilisateur { margin-left: 0; }
  main { padding: .5rem; }
  th, td { padding: .3rem; font-size: .9rem; }
}
)CSS";

// Draws the dashboard's chart from the canvas's data-series attribute (JSON written by the
// console); does nothing on pages without one.
const char CONSOLE_JS[] = R"JS(
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var canvas = document.getElementById("graphique");
  if (!canvas || typeof Chart === "undefined") return;
  var data = JSON.parse(canvas.getAttribute("data-series"));
  var colors = ["#1d4f91", "#1e7b34", "#c77700", "#b3261e", "#6b4fa3"];
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: data.series.map(function (s, i) {
        return { label: s.label, data: s.values, borderColor: colors[i % colors.length],
                 backgroundColor: colors[i % colors.length], tension: 0.2 };
      })
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
});
)JS";

}  // namespace rdz::console
