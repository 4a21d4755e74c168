#include "daemon/domain/labels.h"


namespace rdz {

namespace {

// The concepts that have codes; a field names one.
enum class Concept {
  STATUT, PASS, STATUS, TRI_STATE, TYPE_LOGEMENT, METHODE, ENTITY, ROLE, RESULTAT, RAISON,
  REJET, CREDIT, EVENT, VERDICT, FULL
};

struct Field {
  std::string_view name;  // JSON name
  Concept kind;
};

constexpr Field FIELDS[] = {
    {"statut", Concept::STATUT},           // Lead.statut (SPEC §3.3)
    {"pass", Concept::PASS},               // Delivery.pass
    {"passe", Concept::PASS},              // Explanation.Raison.passe ("" for hors_run)
    {"status", Concept::STATUS},           // Batch.status; RunSummary.status
    {"proprietaire", Concept::TRI_STATE},  // Lead.proprietaire
    {"type_logement", Concept::TYPE_LOGEMENT},
    {"methode", Concept::METHODE},         // Client.methode
    {"entity", Concept::ENTITY},           // every record; a run's scope (EntityFilter)
    {"lead_entity", Concept::ENTITY},
    {"list", Concept::ENTITY},             // HistoryEvent.Opposition.list
    {"role", Concept::ROLE},
    {"resultat", Concept::RESULTAT},       // Explanation.resultat
    {"raison", Concept::RAISON},           // Explanation.Raison.raison (SPEC §7.4)
    {"rejet", Concept::REJET},             // Delivery.rejet (SPEC §7.1)
    {"credit", Concept::CREDIT},           // how a rejection is credited (SPEC §7.1)
    {"event", Concept::EVENT},             // HistoryEvent.event (history.h)
    {"verdict", Concept::VERDICT},         // HistoryEvent.Transmis.verdict
    {"why", Concept::FULL},                // RunTrace: why a commande stopped taking leads
};

struct Label {
  Concept kind;
  std::string_view code;  // as JSON writes it
  std::string_view label;
};

// SPEC's vocabulary (fresh, LB, fallback, run) is kept as-is (SPEC: "used as-is in code, CLI,
// CSV and docs").
constexpr Label LABELS[] = {
    {Concept::STATUT, "new", "nouveau"},
    {Concept::STATUT, "delivered", "livré"},
    {Concept::STATUT, "lb", "LB"},
    {Concept::STATUT, "invalid", "invalide"},
    {Concept::STATUT, "rejected", "rejeté"},

    {Concept::PASS, "fresh", "fresh"},
    {Concept::PASS, "fresh_fallback", "fresh en fallback"},
    {Concept::PASS, "lb", "LB"},
    {Concept::PASS, "lb_fallback", "LB en fallback"},

    {Concept::STATUS, "pending", "en attente"},  // batches
    {Concept::STATUS, "sent", "envoyé"},
    {Concept::STATUS, "failed", "en échec"},
    {Concept::STATUS, "committed", "en cours d'envoi"},  // runs
    {Concept::STATUS, "complete", "terminé"},
    {Concept::STATUS, "dry-run", "essai"},

    {Concept::TRI_STATE, "unknown", "non renseigné"},
    {Concept::TRI_STATE, "oui", "oui"},
    {Concept::TRI_STATE, "non", "non"},

    {Concept::TYPE_LOGEMENT, "unknown", "non renseigné"},
    {Concept::TYPE_LOGEMENT, "maison", "maison"},
    {Concept::TYPE_LOGEMENT, "appartement", "appartement"},

    {Concept::METHODE, "email", "e-mail"},
    {Concept::METHODE, "api", "API"},

    {Concept::ENTITY, "ZR7", "ZR7"},
    {Concept::ENTITY, "MDL", "MDL"},
    {Concept::ENTITY, "all", "toutes"},

    {Concept::ROLE, "admin", "administrateur"},
    {Concept::ROLE, "viewer", "lecteur"},
    {Concept::ROLE, "ingest", "ingestion"},
    {Concept::ROLE, "gateway", "passerelle"},

    {Concept::RESULTAT, "livre", "livré"},
    {Concept::RESULTAT, "non_livre", "non livré"},

    // Said of a commande ("commande … attribuée"), in the explain sentence too.
    {Concept::RAISON, "attribue", "attribuée"},
    {Concept::RAISON, "departement", "hors de son département"},
    {Concept::RAISON, "inactif", "inactive"},
    {Concept::RAISON, "jour", "ne livre pas ce jour-là"},
    {Concept::RAISON, "periode", "hors de sa période"},
    {Concept::RAISON, "quota_atteint", "quota de la semaine atteint"},
    {Concept::RAISON, "quota_jour_atteint", "quota du jour atteint"},
    {Concept::RAISON, "lb_max_atteint", "part de LB atteinte"},
    {Concept::RAISON, "pas_de_fallback", "sans fallback"},
    {Concept::RAISON, "doublon_client", "client l'ayant déjà reçu"},
    {Concept::RAISON, "opposition", "opposition"},
    {Concept::RAISON, "devance", "prise par une autre commande"},
    {Concept::RAISON, "hors_run", "hors du run"},

    {Concept::REJET, "faux_numero", "faux numéro"},
    {Concept::REJET, "injoignable", "injoignable"},
    {Concept::REJET, "hors_zone", "hors zone"},
    {Concept::REJET, "doublon", "doublon"},
    {Concept::REJET, "hors_cible", "hors cible"},
    {Concept::REJET, "autre", "autre"},
    {Concept::REJET, "efface", "effacé (RGPD)"},  // dropped from an unsent batch by an erasure

    {Concept::CREDIT, "semaine", "semaine"},
    {Concept::CREDIT, "remplacement_du", "remplacement dû"},

    {Concept::EVENT, "recu", "reçu"},
    {Concept::EVENT, "transmis", "transmis par la passerelle"},
    {Concept::EVENT, "preuve", "preuve de la requête"},
    {Concept::EVENT, "doublon", "double soumission"},
    {Concept::EVENT, "opposition", "opposition"},
    {Concept::EVENT, "problemes", "problèmes"},
    {Concept::EVENT, "statut", "statut"},
    {Concept::EVENT, "livraison", "livraison"},
    {Concept::EVENT, "doublon_evite", "doublon évité"},
    {Concept::EVENT, "envoi", "envoi"},
    {Concept::EVENT, "rejet", "rejet"},
    {Concept::EVENT, "effacement", "effacement RGPD"},
    {Concept::EVENT, "retrait_lot", "retrait du lot"},

    {Concept::VERDICT, "used", "retenue"},
    {Concept::VERDICT, "not_a_gateway", "ignorée : pas une passerelle"},
    {Concept::VERDICT, "in_future", "ignorée : dans le futur"},
    {Concept::VERDICT, "too_old", "ignorée : trop ancienne"},

    {Concept::FULL, "quota", "quota de la semaine"},
    {Concept::FULL, "quotaJour", "quota du jour"},  // (no $Json.name in the schema)
    {Concept::FULL, "lbMax", "part de LB"},
};

}  // namespace

std::optional<std::string_view> frenchLabel(std::string_view field, std::string_view code) {
  for (auto& f : FIELDS) {
    if (f.name != field) continue;
    for (auto& l : LABELS) {
      if (l.kind == f.kind && l.code == code) return l.label;
    }
  }
  return std::nullopt;
}

std::string labelOrCode(std::string_view field, std::string_view code) {
  return std::string(frenchLabel(field, code).value_or(code));
}

std::string_view statutLabel(Statut s) { return *frenchLabel("statut", statutName(s)); }

std::string_view passLabel(PassKind p) { return *frenchLabel("pass", passName(p)); }

std::string rejectionReasonLabel(std::string_view reason) { return labelOrCode("rejet", reason); }

}  // namespace rdz
