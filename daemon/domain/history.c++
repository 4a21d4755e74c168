#include "daemon/domain/history.h"

#include <fmt/format.h>

#include <array>

#include "daemon/domain/after-delivery.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/labels.h"
#include "daemon/domain/time.h"

namespace rdz {

namespace history {

namespace {

HistoryEvent event(Timestamp at, HistoryKind kind) {
  HistoryEvent e;
  e.at = at;
  e.kind = kind;
  return e;
}

}  // namespace

HistoryEvent received(Timestamp at, std::string_view via) {
  HistoryEvent e = event(at, HistoryKind::RECU);
  e.via = via;
  return e;
}

HistoryEvent forwarded(Timestamp at, Timestamp accepted, GatewayTime verdict, bool spooled) {
  HistoryEvent e = event(at, HistoryKind::TRANSMIS);
  e.time = accepted;
  e.gatewayTime = verdict;
  e.spooled = spooled;
  return e;
}

HistoryEvent requestProof(Timestamp at, ProofValues form, ProofValues request) {
  HistoryEvent e = event(at, HistoryKind::PREUVE);
  e.form = std::move(form);
  e.request = std::move(request);
  return e;
}

HistoryEvent doubleSubmission(Timestamp at, std::string_view firstLead) {
  HistoryEvent e = event(at, HistoryKind::DOUBLON);
  e.lead = firstLead;
  return e;
}

HistoryEvent opposedAtReception(Timestamp at, Entity list) {
  HistoryEvent e = event(at, HistoryKind::OPPOSITION);
  e.entity = list;
  return e;
}

HistoryEvent problems(Timestamp at, std::vector<std::string> problemes) {
  HistoryEvent e = event(at, HistoryKind::PROBLEMES);
  e.problemes = std::move(problemes);
  return e;
}

HistoryEvent status(Timestamp at, Statut statut) {
  HistoryEvent e = event(at, HistoryKind::STATUT);
  e.statut = statut;
  return e;
}

HistoryEvent aged(Timestamp at, std::string_view run) {
  HistoryEvent e = status(at, Statut::LB);
  e.run = run;
  return e;
}

HistoryEvent delivered(Timestamp at, const Delivery& d) {
  HistoryEvent e = event(at, HistoryKind::LIVRAISON);
  e.delivery = d.id;
  e.commande = d.commande;
  e.client = d.client;
  e.entity = d.entity;
  e.pass = d.pass;
  e.batch = d.batch;
  e.run = d.run;
  return e;
}

HistoryEvent duplicateSkipped(Timestamp at, const DuplicateSkip& skip, std::string_view run) {
  HistoryEvent e = event(at, HistoryKind::DOUBLON_EVITE);
  e.client = skip.client;
  e.commande = skip.commandeId;
  e.run = run;
  e.time = skip.earlier;
  return e;
}

HistoryEvent opposedInRun(Timestamp at, Entity list, std::string_view run) {
  HistoryEvent e = opposedAtReception(at, list);
  e.run = run;
  return e;
}

HistoryEvent sent(Timestamp at, const Batch& batch) {
  HistoryEvent e = event(at, HistoryKind::ENVOI);
  e.batch = batch.id;
  e.client = batch.client;
  return e;
}

HistoryEvent rejected(Timestamp at, const Delivery& d, std::string_view credit) {
  HistoryEvent e = event(at, HistoryKind::REJET);
  e.reason = d.rejet;
  e.time = d.rejeteLe;
  e.delivery = d.id;
  e.commande = d.commande;
  e.client = d.client;
  e.run = d.run;
  e.credit = credit;
  return e;
}

HistoryEvent erased(Timestamp at) { return event(at, HistoryKind::EFFACEMENT); }

HistoryEvent droppedFromBatch(Timestamp at, const Delivery& d, std::string_view credit) {
  HistoryEvent e = event(at, HistoryKind::RETRAIT_LOT);
  e.delivery = d.id;
  e.batch = d.batch;
  e.commande = d.commande;
  e.credit = credit;
  return e;
}

}  // namespace history

namespace {

struct KindName {
  HistoryKind kind;
  std::string_view name;
};
constexpr std::array<KindName, 13> KIND_NAMES = {{
    {HistoryKind::RECU, "recu"},
    {HistoryKind::TRANSMIS, "transmis"},
    {HistoryKind::PREUVE, "preuve"},
    {HistoryKind::DOUBLON, "doublon"},
    {HistoryKind::OPPOSITION, "opposition"},
    {HistoryKind::PROBLEMES, "problemes"},
    {HistoryKind::STATUT, "statut"},
    {HistoryKind::LIVRAISON, "livraison"},
    {HistoryKind::DOUBLON_EVITE, "doublon_evite"},
    {HistoryKind::ENVOI, "envoi"},
    {HistoryKind::REJET, "rejet"},
    {HistoryKind::EFFACEMENT, "effacement"},
    {HistoryKind::RETRAIT_LOT, "retrait_lot"},
}};

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

std::string dateOf(const std::optional<Timestamp>& t) { return t ? parisDate(*t) : "?"; }

std::string proofText(const ProofValues& v) {
  auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
  return "ip " + quoted(v.ip) + ", user_agent " + quoted(v.userAgent) + ", page_url " +
         quoted(v.pageUrl);
}

}  // namespace

std::string_view historyEventName(const HistoryEvent& e) {
  if (e.legacy) return e.legacyEvent;
  for (auto& k : KIND_NAMES) {
    if (k.kind == e.kind) return k.name;
  }
  return e.legacyEvent;
}

std::string historyText(const HistoryEvent& e) {
  if (e.legacy) return e.legacyDetail;
  switch (e.kind) {
    case HistoryKind::LEGACY:
      return e.legacyDetail;
    case HistoryKind::RECU:
      return fmt::format("reçu via {}", e.via);
    case HistoryKind::TRANSMIS: {
      std::string accepted = e.time ? formatIso(*e.time) : "?";
      std::string ignored = "heure de la passerelle " + accepted + " ignorée : ";
      switch (e.gatewayTime) {
        case GatewayTime::USED:
          return fmt::format("reçu par la passerelle le {}, transmis le {}{}", accepted,
                             formatIso(e.at), e.spooled ? " (rejeu du spool)" : "");
        case GatewayTime::NOT_A_GATEWAY:
          return ignored + "le jeton n'a pas le rôle gateway";
        case GatewayTime::IN_FUTURE:
          return ignored + "postérieure à l'heure de rdzd";
        case GatewayTime::TOO_OLD:
          return ignored + "plus ancienne que la limite du spool";
      }
      return ignored;
    }
    case HistoryKind::PREUVE:
      return "formulaire: " + proofText(e.form) + "; requête: " + proofText(e.request);
    case HistoryKind::DOUBLON:
      return fmt::format("double soumission du lead {}", e.lead);
    case HistoryKind::OPPOSITION:
      if (e.run.empty()) {
        return fmt::format("numéro sur la liste d'opposition de {}", entityName(e.entity));
      }
      return fmt::format("non livré: numéro sur la liste d'opposition de {} (run {})",
                         entityName(e.entity), e.run);
    case HistoryKind::PROBLEMES:
      return fmt::format("problèmes: {}", joined(e.problemes));
    case HistoryKind::STATUT:
      if (e.run.empty()) return fmt::format("statut {}", statutLabel(e.statut));
      return fmt::format("statut {} (vieillissement, run {})", statutLabel(e.statut), e.run);
    case HistoryKind::LIVRAISON:
      return fmt::format("livré à {} (commande {}, passe {}{}), lot {}, run {}", e.client,
                         e.commande, passLabel(e.pass),
                         e.pass == PassKind::FRESH_FALLBACK || e.pass == PassKind::LB_FALLBACK
                             ? fmt::format(", repli vers {}", entityName(e.entity))
                             : "",
                         e.batch, e.run);
    case HistoryKind::DOUBLON_EVITE:
      return fmt::format("non livré à {} (commande {}): l'a déjà reçu le {} (run {})", e.client,
                         e.commande, dateOf(e.time), e.run);
    case HistoryKind::ENVOI:
      return fmt::format("lot {} envoyé à {}", e.batch, e.client);
    case HistoryKind::REJET:
      return fmt::format("rejeté par {}, raison {}, le {}: livraison {} (commande {}, run {}), "
                         "crédit {}",
                         e.client, rejectionReasonLabel(e.reason),
                         e.time ? formatIso(*e.time) : "?", e.delivery, e.commande, e.run,
                         labelOrCode("credit", e.credit));
    case HistoryKind::EFFACEMENT:
      return "données personnelles effacées (RGPD)";
    case HistoryKind::RETRAIT_LOT:
      return fmt::format("retiré du lot {} (commande {}, crédit {}): effacé avant l'envoi",
                         e.batch, e.commande, labelOrCode("credit", e.credit));
  }
  return e.legacyDetail;
}

HistoryEvent legacyHistoryEvent(Timestamp at, std::string event, std::string detail) {
  HistoryEvent e;
  e.at = at;
  e.legacy = true;
  for (auto& k : KIND_NAMES) {
    if (k.name == event) e.kind = k.kind;
  }
  // Names an early schema comment listed; never written, mapped all the same.
  if (event == "allocation") e.kind = HistoryKind::LIVRAISON;
  if (event == "probleme") e.kind = HistoryKind::PROBLEMES;
  if (e.kind == HistoryKind::STATUT) {
    // "new", "invalid", "rejected", "lb (vieillissement, run …)": the statut comes first.
    std::string_view first = std::string_view(detail).substr(0, detail.find(' '));
    for (Statut s : {Statut::NEW, Statut::DELIVERED, Statut::LB, Statut::INVALID,
                     Statut::REJECTED}) {
      if (statutName(s) == first) e.statut = s;
    }
  }
  if (e.kind == HistoryKind::PROBLEMES) {
    // Codes joined by commas.
    size_t from = 0;
    while (from <= detail.size()) {
      size_t comma = detail.find(',', from);
      if (comma == std::string::npos) comma = detail.size();
      if (comma > from) e.problemes.push_back(detail.substr(from, comma - from));
      from = comma + 1;
    }
  }
  e.legacyEvent = std::move(event);
  e.legacyDetail = std::move(detail);
  return e;
}

bool scrubHistory(HistoryEvent& event, const std::vector<std::string>& values) {
  bool changed = false;
  for (std::string* text :
       {&event.legacyDetail, &event.form.ip, &event.form.userAgent, &event.form.pageUrl,
        &event.request.ip, &event.request.userAgent, &event.request.pageUrl}) {
    std::string clean = scrubbed(*text, values);
    if (clean == *text) continue;
    *text = std::move(clean);
    changed = true;
  }
  return changed;
}

}  // namespace rdz
