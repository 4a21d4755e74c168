// Clients, commandes and produits (SPEC §4): plain values and their rules. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/types.h"

namespace rdz {

enum class Methode : uint8_t { EMAIL = 0, API = 1 };

struct Client {
  std::string id;  // slug: [a-z0-9-], 1..64
  Entity entity = Entity::ZR7;
  std::string nom;
  std::vector<std::string> emails;  // 1..n
  std::vector<std::string> cc;
  Methode methode = Methode::EMAIL;
  std::string apiUrl;
  std::string apiHeader;  // "Name: value"
  bool actif = true;
  std::optional<Timestamp> creeLe;
  bool apiConsent = false;  // methode api: each lead carries its consent proof
  bool operator==(const Client&) const = default;
};

struct Commande {
  std::string id;
  Entity entity = Entity::ZR7;  // always its client's
  std::string client;
  std::string produit;
  std::vector<std::string> departements;  // {"*"} for all
  uint32_t quotaSemaine = 0;              // 1..100000
  uint32_t quotaJour = 0;                 // 0 = no daily cap
  uint8_t priorite = 5;                   // 1..9, 1 served first
  uint8_t lbMaxPct = 0;                   // 0..100
  bool fallback = false;
  std::vector<std::string> jours = {"lun", "mar", "mer", "jeu", "ven"};
  std::string debut;  // AAAA-MM-JJ or ""
  std::string fin;
  bool actif = true;
  std::optional<Timestamp> creeLe;
  bool operator==(const Commande&) const = default;
};

struct Produit {
  Entity entity = Entity::ZR7;
  std::string code;  // upper case, [A-Z0-9_], 1..16
  std::string libelle;
  bool operator==(const Produit&) const = default;
};

// The catalogue every entity starts with (SPEC §3.1).
const std::vector<Produit>& defaultCatalogue(Entity e);

constexpr std::string_view JOURS[] = {"lun", "mar", "mer", "jeu", "ven", "sam", "dim"};

// "Jean Dupont & Fils" -> "jean-dupont-fils"; used when no id is given.
std::string slugify(std::string_view text);
bool isSlug(std::string_view text);

// Each refuses (refusal.h: a kj::Exception whose description is the message alone, in French,
// naming the offending field, e.g. "commande : quota_semaine doit être entre 1 et 100000") when a
// rule of SPEC §4 is broken; otherwise normalises in place (trims, lower-cases emails, upper-cases
// produit codes, sorts nothing: order given is kept). `commande.entity` must be set (the
// catalogue's entity is named).
void checkClient(Client& client);
// `catalogue`: the entity's produit codes.
void checkCommande(Commande& commande, const std::vector<std::string>& catalogue);
void checkProduit(Produit& produit);

// The service's refusals about clients and commandes, worded here with the rules' own: "client
// inconnu : ID" (also for another entity's client: an entity-bound caller learns nothing), …
[[noreturn]] void refuseUnknownClient(std::string_view id);
[[noreturn]] void refuseUnknownCommande(std::string_view id);
[[noreturn]] void refuseTakenClientId(std::string_view id);
[[noreturn]] void refuseClientChange();  // a commande's client is fixed
[[noreturn]] void refuseEntityChange();  // a client's entity is fixed (SPEC §2)

// A departement code as derived by departementOf ("01".."95", "2A", "2B", "971".."976").
bool isDepartementCode(std::string_view text);
// A calendar date "AAAA-MM-JJ".
bool isIsoDate(std::string_view text);

}  // namespace rdz
