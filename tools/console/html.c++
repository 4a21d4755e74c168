#include "tools/console/html.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <map>

#include "daemon/domain/labels.h"

namespace rdz::console {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string urlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string label(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> LABELS = {
      {"id", "Identifiant"}, {"entity", "Entité"}, {"nom", "Nom"}, {"prenom", "Prénom"},
      {"emails", "E-mails de livraison"}, {"cc", "Copie (cc)"}, {"methode", "Méthode"},
      {"api_url", "URL de l'API"}, {"api_header", "En-tête de l'API"}, {"actif", "Actif"},
      {"cree_le", "Créé le"}, {"client", "Client"}, {"produit", "Produit"},
      {"departements", "Départements"}, {"quota_semaine", "Quota semaine"},
      {"quota_jour", "Quota jour"}, {"priorite", "Priorité"}, {"lb_max_pct", "Part LB max (%)"},
      {"fallback", "Fallback"}, {"jours", "Jours"}, {"debut", "Début"}, {"fin", "Fin"},
      {"remplacements_dus", "Remplacements dus"}, {"telephone", "Téléphone"},
      {"telephone_e164", "Téléphone (E.164)"}, {"email", "E-mail"},
      {"code_postal", "Code postal"}, {"departement", "Département"}, {"ville", "Ville"},
      {"proprietaire", "Propriétaire"}, {"type_logement", "Type de logement"},
      {"consentement", "Consentement"}, {"consentement_texte", "Texte du consentement"},
      {"consentement_le", "Consentement le"}, {"page_url", "Page"}, {"ip", "Adresse IP"},
      {"user_agent", "Navigateur"}, {"source", "Source"}, {"utm_source", "utm_source"},
      {"utm_medium", "utm_medium"}, {"utm_campaign", "utm_campaign"}, {"recu_le", "Reçu le"},
      {"statut", "Statut"}, {"problemes", "Problèmes"}, {"doublon_de", "Doublon de"},
      {"nb_livraisons", "Livraisons"}, {"derniere_livraison", "Dernière livraison"},
      {"efface", "Effacé (RGPD)"}, {"run", "Run"}, {"status", "État"},
      {"deliveries", "Livraisons"}, {"attempts", "Tentatives"},
      {"next_attempt", "Prochaine tentative"}, {"last_error", "Dernière erreur"},
      {"sent_at", "Envoyé le"}, {"responses", "Réponses SMTP / HTTP"},
      {"parts_accepted", "Parties acceptées"}, {"failures", "Échecs"}, {"date", "Date"},
      {"reference", "Heure de référence"}, {"aged", "Passés en LB"}, {"assigned", "Attribués"},
      {"doublons_evites", "Doublons évités"}, {"batches", "Lots"}, {"dry_run", "Essai"},
      {"lead", "Lead"}, {"lead_entity", "Entité du lead"}, {"commande", "Commande"},
      {"pass", "Passe"}, {"at", "Le"}, {"batch", "Lot"}, {"rejet", "Rejet"},
      {"rejete_le", "Rejeté le"}, {"event", "Événement"}, {"detail", "Détail"},
      {"libelle", "Libellé"}, {"code", "Code"}, {"recus", "Reçus"},
      {"livres_fresh", "Livrés fresh"}, {"livres_lb", "Livrés LB"},
      {"livres_semaine", "Livrés (semaine)"}, {"lb_semaine", "dont LB"},
      {"completion_pct", "Complétion"}, {"manque", "Manque"}, {"passe", "Passe"},
      {"raison", "Raison"}, {"resultat", "Résultat"}, {"name", "Nom"}, {"role", "Rôle"},
      {"api_consent", "Preuve du consentement (API)"}, {"already_done", "Déjà fait"},
      {"par_entite", "Par entité"}, {"plan", "Plan"}, {"requete_ip", "Adresse IP (requête)"},
      {"requete_user_agent", "Navigateur (requête)"}, {"requete_page_url", "Page (requête)"},
      {"credit", "Crédit"}};
  auto it = LABELS.find(name);
  if (it != LABELS.end()) return it->second;
  std::string out(name);
  for (char& c : out) {
    if (c == '_') c = ' ';
  }
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

std::string frenchNumber(double value) {
  bool negative = value < 0;
  double magnitude = std::fabs(value);
  double whole = std::floor(magnitude);
  std::string digits = fmt::format("{:.0f}", whole);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u202f";  // narrow no-break space
    out += digits[i];
  }
  double fraction = magnitude - whole;
  if (fraction > 1e-9) {
    std::string decimals = fmt::format("{:.2f}", fraction).substr(2);
    while (!decimals.empty() && decimals.back() == '0') decimals.pop_back();
    if (!decimals.empty()) out += "," + decimals;
  }
  return (negative ? "-" : "") + out;
}

std::string frenchDateTime(int64_t micros) {
  if (micros == 0) return "";
  auto t = std::chrono::sys_time<std::chrono::seconds>(
      std::chrono::floor<std::chrono::seconds>(std::chrono::microseconds(micros)));
  auto local = date::make_zoned("Europe/Paris", t).get_local_time();
  return date::format("%d/%m/%Y %H:%M", local);
}

std::string frenchDate(std::string_view iso) {
  if (iso.size() == 10 && iso[4] == '-' && iso[7] == '-') {
    return std::string(iso.substr(8, 2)) + "/" + std::string(iso.substr(5, 2)) + "/" +
           std::string(iso.substr(0, 4));
  }
  return std::string(iso);
}

std::string frenchValue(const Cell& cell) {
  switch (cell.kind) {
    case Cell::Kind::NUMBER: return frenchNumber(cell.number);
    case Cell::Kind::TIME: return frenchDateTime(cell.time);
    case Cell::Kind::LIST: {
      std::string out;
      for (auto& item : cell.items) out += (out.empty() ? "" : ", ") + item;
      return out;
    }
    case Cell::Kind::TEXT:
    case Cell::Kind::OBJECT:  // a union: its member ("all" for a run of both entities)
      return labelOrCode(cell.name, cell.text);
    default: return cell.text;  // oui/non for booleans, as rdzctl
  }
}

}  // namespace rdz::console
