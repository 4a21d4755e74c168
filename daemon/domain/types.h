// Plain value types of the business (SPEC §3–4). No I/O, no Cap'n Proto: the store and the
// service convert these to and from the schema (daemon/store/codec.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdz {

// Microseconds since the Unix epoch, UTC. Every time in RDZ is one of these.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
using Duration = std::chrono::microseconds;

enum class Entity : uint8_t { ZR7 = 0, MDL = 1 };
constexpr Entity ALL_ENTITIES[] = {Entity::ZR7, Entity::MDL};

// "ZR7" / "MDL".
std::string_view entityName(Entity e);
// "zr7" / "mdl": column family prefixes, token file names, URLs.
std::string_view entitySlug(Entity e);
// Accepts either case ("zr7", "ZR7", "Mdl"); nullopt for anything else.
std::optional<Entity> parseEntity(std::string_view text);

// What a session may do (SPEC §8.1): the token's or the user's role. GATEWAY: an ingest session
// (its RPC role is ingest) that may state reception times (auth.h).
enum class Role : uint8_t { INGEST = 0, ADMIN = 1, VIEWER = 2, GATEWAY = 3 };

enum class Statut : uint8_t { NEW = 0, DELIVERED = 1, LB = 2, INVALID = 3, REJECTED = 4 };
std::string_view statutName(Statut s);  // "new", "delivered", "lb", "invalid", "rejected"

enum class TriState : uint8_t { UNKNOWN = 0, OUI = 1, NON = 2 };
enum class TypeLogement : uint8_t { UNKNOWN = 0, MAISON = 1, APPARTEMENT = 2 };

// One submitted champ=valeur pair, exactly as received (JSON member, form field, CSV cell).
struct Field {
  std::string name;
  std::string value;
  bool operator==(const Field&) const = default;
};
using Submission = std::vector<Field>;

struct Lead {
  std::string id;
  Entity entity = Entity::ZR7;
  std::string produit;
  std::string nom;
  std::string prenom;
  std::string telephone;      // as submitted
  std::string telephoneE164;  // normalised; "" when the number is invalid
  std::string email;
  std::string codePostal;
  std::string departement;  // derived from codePostal; "" when invalid
  std::string ville;
  TriState proprietaire = TriState::UNKNOWN;
  TypeLogement typeLogement = TypeLogement::UNKNOWN;
  bool consentement = false;
  std::string consentementTexte;
  std::optional<Timestamp> consentementLe;
  std::string pageUrl;
  std::string ip;
  std::string userAgent;
  std::string source;
  std::string utmSource;
  std::string utmMedium;
  std::string utmCampaign;
  Timestamp recuLe{};
  Statut statut = Statut::NEW;
  std::vector<std::string> problemes;  // machine-readable codes, e.g. "telephone.invalid"
  std::string doublonDe;               // id of the first lead of a double submission
  uint32_t nbLivraisons = 0;
  std::optional<Timestamp> derniereLivraison;
  bool efface = false;
  // What the HTTP post said (rdz-gateway's view: client address, User-Agent, Referer else Origin),
  // whatever the form sent; "" for a lead that did not come through the gateway.
  std::string requeteIp;
  std::string requeteUserAgent;
  std::string requetePageUrl;

  bool operator==(const Lead&) const = default;
};

struct HistoryEvent {
  Timestamp at{};
  std::string event;  // recu, probleme, doublon, statut, allocation, livraison, envoi, rejet, ...
  std::string detail;
};

}  // namespace rdz
