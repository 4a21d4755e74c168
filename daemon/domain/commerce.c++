#include "daemon/domain/commerce.h"

#include <kj/debug.h>

#include <algorithm>

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

void checkClient(Client& client) {
  client.nom = trim(client.nom);
  KJ_REQUIRE(!client.nom.empty(), "client: nom is required");
  KJ_REQUIRE(client.nom.size() <= 200, "client: nom is longer than 200 bytes");
  KJ_REQUIRE(isValidUtf8(client.nom), "client: nom is not UTF-8");
  if (client.id.empty()) client.id = slugify(client.nom);
  KJ_REQUIRE(isSlug(client.id), "client: id must be 1-64 characters of a-z, 0-9 and '-'",
             client.id);
  trimAll(client.emails);
  trimAll(client.cc);
  for (auto& e : client.emails) e = asciiLower(e);
  for (auto& e : client.cc) e = asciiLower(e);
  KJ_REQUIRE(!client.emails.empty(), "client: at least one delivery email is required");
  for (auto& e : client.emails) KJ_REQUIRE(isPlausibleEmail(e), "client: invalid email", e);
  for (auto& e : client.cc) KJ_REQUIRE(isPlausibleEmail(e), "client: invalid cc email", e);
  client.apiUrl = trim(client.apiUrl);
  client.apiHeader = trim(client.apiHeader);
  if (client.methode == Methode::API) {
    KJ_REQUIRE(client.apiUrl.starts_with("http://") || client.apiUrl.starts_with("https://"),
               "client: methode api needs --api-url http(s)://…");
  }
  if (!client.apiHeader.empty()) {
    size_t colon = client.apiHeader.find(':');
    KJ_REQUIRE(colon != std::string::npos && colon > 0,
               "client: api header must look like 'Name: value'");
    KJ_REQUIRE(client.apiHeader.find_first_of("\r\n") == std::string::npos,
               "client: api header must be one line");
  }
}

void checkCommande(Commande& commande, const std::vector<std::string>& catalogue) {
  KJ_REQUIRE(isSlug(commande.client), "commande: client id is required");
  commande.produit = trim(commande.produit);
  for (char& c : commande.produit) c = static_cast<char>(::toupper(static_cast<unsigned char>(c)));
  KJ_REQUIRE(std::find(catalogue.begin(), catalogue.end(), commande.produit) != catalogue.end(),
             "commande: produit is not in the entity's catalogue", commande.produit);
  KJ_REQUIRE(commande.quotaSemaine >= 1 && commande.quotaSemaine <= 100000,
             "commande: quota_semaine must be 1..100000", commande.quotaSemaine);
  KJ_REQUIRE(commande.quotaJour <= 100000, "commande: quota_jour must be 0..100000");
  KJ_REQUIRE(commande.priorite >= 1 && commande.priorite <= 9, "commande: priorite must be 1..9");
  KJ_REQUIRE(commande.lbMaxPct <= 100, "commande: lb_max_pct must be 0..100");
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
      KJ_REQUIRE(isDepartementCode(d), "commande: unknown departement", d);
    }
  }
  trimAll(commande.jours);
  for (auto& j : commande.jours) {
    j = asciiLower(j);
    KJ_REQUIRE(std::find(std::begin(JOURS), std::end(JOURS), j) != std::end(JOURS),
               "commande: jours must be among lun,mar,mer,jeu,ven,sam,dim", j);
  }
  KJ_REQUIRE(!commande.jours.empty(), "commande: at least one delivery day is required");
  KJ_REQUIRE(commande.debut.empty() || isIsoDate(commande.debut), "commande: debut is not a date");
  KJ_REQUIRE(commande.fin.empty() || isIsoDate(commande.fin), "commande: fin is not a date");
  KJ_REQUIRE(commande.debut.empty() || commande.fin.empty() || commande.debut <= commande.fin,
             "commande: debut is after fin");
}

void checkProduit(Produit& produit) {
  produit.code = trim(produit.code);
  for (char& c : produit.code) c = static_cast<char>(::toupper(static_cast<unsigned char>(c)));
  KJ_REQUIRE(!produit.code.empty() && produit.code.size() <= 16, "produit: code must be 1..16");
  KJ_REQUIRE(std::all_of(produit.code.begin(), produit.code.end(),
                         [](char c) { return isAsciiAlnum(c) || c == '_'; }),
             "produit: code must be letters, digits or '_'", produit.code);
  produit.libelle = trim(produit.libelle);
  KJ_REQUIRE(produit.libelle.size() <= 200 && isValidUtf8(produit.libelle),
             "produit: libelle must be UTF-8, at most 200 bytes");
}

}  // namespace rdz
