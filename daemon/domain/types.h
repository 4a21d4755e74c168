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

// The four passes of a run, in their order (SPEC §5.5).
enum class PassKind : uint8_t { FRESH = 0, FRESH_FALLBACK = 1, LB = 2, LB_FALLBACK = 3 };
std::string_view passName(PassKind p);  // "fresh", "fresh_fallback", "lb", "lb_fallback"

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

// What happened to a lead (SPEC §3.3). Written by the constructors of daemon/domain/history.h
// only; rendered in French by historyText().
enum class HistoryKind : uint8_t {
  LEGACY = 0,      // written before events were typed, under a name no kind matches
  RECU = 1,        // received (via)
  DOUBLON = 2,     // double submission of `lead` (§3.2)
  OPPOSITION = 3,  // phone on `entity`'s opposition list: at reception (run ""), or skipped by `run`
  PROBLEMES = 4,   // validation problems (problemes)
  STATUT = 5,      // new statut (statut); aged to LB by `run` when run is set
  LIVRAISON = 6,   // given to commande/client by `run` (delivery, entity = receiving, pass, batch)
  DOUBLON_EVITE = 7,  // skipped for `client` (commande) by `run`: it had the person (time = when)
  ENVOI = 8,          // batch sent to client
  REJET = 9,          // delivery rejected: reason, time, delivery, commande, client, run, credit
  EFFACEMENT = 10,    // personal data erased (RGPD)
  RETRAIT_LOT = 11,   // erased lead dropped from an unsent batch (delivery, commande, credit)
  TRANSMIS = 12,      // a gateway's time for the lead (time): used, or why not (gatewayTime)
  PREUVE = 13,        // the HTTP request's proof: what the form said, what the request said
};

// What rdzd made of the time a gateway accepted a lead at (TRANSMIS).
enum class GatewayTime : uint8_t {
  USED = 0,           // recu_le (the lead waited: spooled, or forwarded 1 s or more later)
  NOT_A_GATEWAY = 1,  // ignored: the token has not the gateway role
  IN_FUTURE = 2,      // ignored: after rdzd's time
  TOO_OLD = 3,        // ignored: older than the spool's age limit
};

// Where a lead's consent proof came from (PREUVE): the form's values or the HTTP request's. These
// are personal data: an erasure wipes them from the history as from the lead.
struct ProofValues {
  std::string ip;
  std::string userAgent;
  std::string pageUrl;
  bool operator==(const ProofValues&) const = default;
};

// One event of a lead's history. Details are ids, codes and times set by RDZ — never a value of
// the lead's personal fields, except the request proof's (PREUVE), which an erasure wipes; which
// are set depends on `kind` (see HistoryKind).
struct HistoryEvent {
  Timestamp at{};
  HistoryKind kind = HistoryKind::LEGACY;
  std::string via;                     // RECU: ingest, admin, import
  std::string lead;                    // DOUBLON: the first lead of the double submission
  std::vector<std::string> problemes;  // PROBLEMES
  Statut statut = Statut::NEW;         // STATUT
  Entity entity = Entity::ZR7;         // OPPOSITION: the list; LIVRAISON: the receiving entity
  PassKind pass = PassKind::FRESH;     // LIVRAISON
  std::string run;
  std::string commande;
  std::string client;
  std::string batch;
  std::string delivery;
  // DOUBLON_EVITE: the earlier delivery; REJET: the rejection; TRANSMIS: the gateway's time
  std::optional<Timestamp> time;
  std::string reason;             // REJET: the reason code
  std::string credit;             // REJET, RETRAIT_LOT: "semaine" or "remplacement_du"
  GatewayTime gatewayTime = GatewayTime::USED;  // TRANSMIS
  bool spooled = false;                         // TRANSMIS: replayed from the gateway's spool
  ProofValues form;                             // PREUVE: what the form sent
  ProofValues request;                          // PREUVE: what the HTTP request said
  // Records written before events were typed: their name and text, kept as written (`kind` is
  // the kind their name maps to, LEGACY when none does).
  bool legacy = false;
  std::string legacyEvent;
  std::string legacyDetail;

  bool operator==(const HistoryEvent&) const = default;
};

}  // namespace rdz
