#include "daemon/domain/commerce.h"

#include <fmt/format.h>

#include <algorithm>

#include "daemon/domain/refusal.h"
#include "daemon/domain/validation.h"

namespace rdz {

namespace {

bool isAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

void trimAll(std::vector<std::string>& values) {
  for (auto& v : values) v = trim(v);
  values.erase(std::remove(values.begin(), values.end(), std::string()), values.end());
}

}  // namespace

const std::vector<Produit>& defaultCatalogue(Entity e) {
  static const std::vector<Produit> zr7 = {{Entity::ZR7, "PV", "Panneaux photovoltaïques"},
                                           {Entity::ZR7, "PAC", "Pompe à chaleur"},
                                           {Entity::ZR7, "ITE", "Isolation thermique extérieure"}};
  static const std::vector<Produit> mdl = {{Entity::MDL, "PV", "Panneaux photovoltaïques"},
                                           {Entity::MDL, "PAC", "Pompe à chaleur"},
                                           {Entity::MDL, "ITE", "Isolation thermique extérieure"}};
  return e == Entity::ZR7 ? zr7 : mdl;
}

std::string slugify(std::string_view text) {
  std::string out;
  for (char c : asciiLower(text)) {
    if (isAsciiAlnum(c)) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';  // anything else, accented letters included, separates words
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 64) out.resize(64);
  return out;
}

bool isSlug(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool isDepartementCode(std::string_view text) {
  if (text == "2A" || text == "2B") return true;
  if (text.size() == 3) return text >= "971" && text <= "976";
  if (text.size() != 2 || !std::all_of(text.begin(), text.end(), ::isdigit)) return false;
  return text != "00" && text != "20" && text != "96" && text <= "95";
}

bool isIsoDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  int month = (text[5] - '0') * 10 + (text[6] - '0');
  int day = (text[8] - '0') * 10 + (text[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// Every message of SPEC §4's rules is written here, in French, once: rdzctl prints it and the
// console shows it next to its form, as rdzd words it. Fields are named by their JSON names (the
// names rdzctl's flags and the console's labels stand for); a value is quoted only when it is one
// item of a list, to say which.
void checkClient(Client& client) {
  client.nom = trim(client.nom);
  if (client.nom.empty()) refuse("client : le nom est obligatoire");
  if (client.nom.size() > 200) refuse("client : le nom dépasse 200 octets");
  if (!isValidUtf8(client.nom)) refuse("client : le nom n'est pas en UTF-8");
  if (client.id.empty()) client.id = slugify(client.nom);
  if (!isSlug(client.id)) {
    refuse("client : l'identifiant doit faire 1 à 64 caractères parmi a-z, 0-9 et « - »");
  }
  trimAll(client.emails);
  trimAll(client.cc);
  for (auto& e : client.emails) e = asciiLower(e);
  for (auto& e : client.cc) e = asciiLower(e);
  if (client.emails.empty()) {
    refuse("client : au moins une adresse e-mail de livraison est obligatoire");
  }
  for (auto& e : client.emails) {
    if (!isPlausibleEmail(e)) refuse("client : adresse e-mail invalide : « " + e + " »");
  }
  for (auto& e : client.cc) {
    if (!isPlausibleEmail(e)) {
      refuse("client : adresse e-mail en copie (cc) invalide : « " + e + " »");
    }
  }
  client.apiUrl = trim(client.apiUrl);
  client.apiHeader = trim(client.apiHeader);
  if (client.methode == Methode::API && !client.apiUrl.starts_with("http://") &&
      !client.apiUrl.starts_with("https://")) {
    refuse("client : la méthode api demande une api_url en http:// ou https://");
  }
  if (!client.apiHeader.empty()) {
    size_t colon = client.apiHeader.find(':');
    if (colon == std::string::npos || colon == 0) {
      refuse("client : api_header doit être de la forme « Nom: valeur »");
    }
    if (client.apiHeader.find_first_of("\r\n") != std::string::npos) {
      refuse("client : api_header doit tenir sur une ligne");
    }
  }
}

void checkCommande(Commande& commande, const std::vector<std::string>& catalogue) {
  if (!isSlug(commande.client)) refuse("commande : le client est obligatoire");
  commande.produit = trim(commande.produit);
  for (char& c : commande.produit) c = static_cast<char>(::toupper(static_cast<unsigned char>(c)));
  if (commande.produit.empty()) refuse("commande : le produit est obligatoire");
  if (std::find(catalogue.begin(), catalogue.end(), commande.produit) == catalogue.end()) {
    refuse(fmt::format("commande : le produit « {} » n'est pas au catalogue de {}",
                       commande.produit, entityName(commande.entity)));
  }
  if (commande.quotaSemaine < 1 || commande.quotaSemaine > 100000) {
    refuse("commande : quota_semaine doit être entre 1 et 100000");
  }
  if (commande.quotaJour > 100000) {
    refuse("commande : quota_jour doit être entre 0 et 100000 (0 : pas de plafond par jour)");
  }
  if (commande.priorite < 1 || commande.priorite > 9) {
    refuse("commande : priorite doit être entre 1 et 9");
  }
  if (commande.lbMaxPct > 100) refuse("commande : lb_max_pct doit être entre 0 et 100");
  trimAll(commande.departements);
  for (auto& d : commande.departements) {
    for (char& c : d) c = static_cast<char>(::toupper(static_cast<unsigned char>(c)));
  }
  if (commande.departements.empty()) commande.departements = {"*"};
  bool all = std::find(commande.departements.begin(), commande.departements.end(), "*") !=
             commande.departements.end();
  if (all) {
    commande.departements = {"*"};
  } else {
    for (auto& d : commande.departements) {
      // A single digit is a departement written without its leading zero ("1" for "01").
      if (d.size() == 1 && ::isdigit(static_cast<unsigned char>(d[0]))) d = "0" + d;
      if (!isDepartementCode(d)) refuse("commande : département inconnu : « " + d + " »");
    }
  }
  trimAll(commande.jours);
  for (auto& j : commande.jours) {
    j = asciiLower(j);
    if (std::find(std::begin(JOURS), std::end(JOURS), j) == std::end(JOURS)) {
      refuse("commande : jour inconnu : « " + j + " » (jours : lun,mar,mer,jeu,ven,sam,dim)");
    }
  }
  if (commande.jours.empty()) refuse("commande : au moins un jour de livraison est obligatoire");
  if (!commande.debut.empty() && !isIsoDate(commande.debut)) {
    refuse("commande : debut doit être une date AAAA-MM-JJ");
  }
  if (!commande.fin.empty() && !isIsoDate(commande.fin)) {
    refuse("commande : fin doit être une date AAAA-MM-JJ");
  }
  if (!commande.debut.empty() && !commande.fin.empty() && commande.debut > commande.fin) {
    refuse("commande : debut est après fin");
  }
}

void checkProduit(Produit& produit) {
  produit.code = trim(produit.code);
  for (char& c : produit.code) c = static_cast<char>(::toupper(static_cast<unsigned char>(c)));
  if (produit.code.empty() || produit.code.size() > 16) {
    refuse("produit : le code doit faire 1 à 16 caractères");
  }
  if (!std::all_of(produit.code.begin(), produit.code.end(),
                   [](char c) { return isAsciiAlnum(c) || c == '_'; })) {
    refuse("produit : le code ne peut contenir que des lettres, des chiffres et « _ »");
  }
  produit.libelle = trim(produit.libelle);
  if (produit.libelle.size() > 200 || !isValidUtf8(produit.libelle)) {
    refuse("produit : le libellé doit être en UTF-8, 200 octets au plus");
  }
}

void refuseUnknownClient(std::string_view id) {
  refuse(fmt::format("client inconnu : {}", id));
}

void refuseUnknownCommande(std::string_view id) {
  refuse(fmt::format("commande inconnue : {}", id));
}

void refuseTakenClientId(std::string_view id) {
  refuse(fmt::format("client : l'identifiant {} est déjà pris", id));
}

void refuseClientChange() { refuse("commande : une commande ne change pas de client"); }

void refuseEntityChange() { refuse("client : l'entité d'un client ne change pas"); }

}  // namespace rdz
