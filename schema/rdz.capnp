@0xa7a7cdfc72df2d79;
# RDZ's one schema: the records rdzd stores (RocksDB values are these structs, serialised) and
# the capability interfaces of SPEC §8.1. Field names are the business names of SPEC §3.1; the
# JSON names (rdzctl --json, gateway, import) are the SPEC's snake_case names.
#
# Conventions:
# - Times are Int64 microseconds since the Unix epoch (UTC), annotated $time; 0 means "unset".
#   JSON renders them as ISO 8601 with offset.
# - Optional text is "" when absent.

using Cxx = import "/capnp/c++.capnp";
using Json = import "/capnp/compat/json.capnp";
$Cxx.namespace("rdz::schema");

annotation time @0xd3a1b6c0f3e2a901 (field) :Void;
# The field holds a time (µs since epoch); JSON shows it as ISO 8601.

annotation nullable @0xad5113fac98c0d2e (field) :Void;
# An Int64 count that may have no value: negative means none, and JSON shows it as null.

enum Entity {
  zr7 @0 $Json.name("ZR7");
  mdl @1 $Json.name("MDL");
}

struct EntityFilter {
  # "no entity" (all the caller may see) or one entity.
  union {
    all @0 :Void;
    one @1 :Entity;
  }
}

# ---------------------------------------------------------------------------------------------
# Leads

enum Statut {
  new @0;
  delivered @1;
  lb @2;
  invalid @3;
  rejected @4;
}

enum TriState {
  unknown @0;
  oui @1;
  non @2;
}

enum TypeLogement {
  unknown @0;
  maison @1;
  appartement @2;
}

struct Field {
  # One submitted champ=valeur pair, exactly as received.
  name @0 :Text;
  value @1 :Text;
}

struct Lead {
  id @0 :Text;
  entity @1 :Entity;
  produit @2 :Text;
  nom @3 :Text;
  prenom @4 :Text;
  telephone @5 :Text;                        # as submitted
  telephoneE164 @6 :Text $Json.name("telephone_e164");
  email @7 :Text;
  codePostal @8 :Text $Json.name("code_postal");
  departement @9 :Text;
  ville @10 :Text;
  proprietaire @11 :TriState;
  typeLogement @12 :TypeLogement $Json.name("type_logement");
  consentement @13 :Bool;
  consentementTexte @14 :Text $Json.name("consentement_texte");
  consentementLe @15 :Int64 $time $Json.name("consentement_le");
  pageUrl @16 :Text $Json.name("page_url");
  ip @17 :Text;
  userAgent @18 :Text $Json.name("user_agent");
  source @19 :Text;
  utmSource @20 :Text $Json.name("utm_source");
  utmMedium @21 :Text $Json.name("utm_medium");
  utmCampaign @22 :Text $Json.name("utm_campaign");
  recuLe @23 :Int64 $time $Json.name("recu_le");
  statut @24 :Statut;
  problemes @25 :List(Text);
  doublonDe @26 :Text $Json.name("doublon_de");   # first lead of a double submission
  nbLivraisons @27 :UInt32 $Json.name("nb_livraisons");
  derniereLivraison @28 :Int64 $time $Json.name("derniere_livraison");
  efface @29 :Bool;                          # RGPD erasure done: personal fields are wiped
  # What the HTTP request the lead came in said (the gateway's view), whatever the form sent:
  # the client address (through trusted proxies), User-Agent, Referer (else Origin). "" when the
  # lead did not come through the gateway. ip, user_agent and page_url take these values when
  # the form left them empty.
  requeteIp @30 :Text $Json.name("requete_ip");
  requeteUserAgent @31 :Text $Json.name("requete_user_agent");
  requetePageUrl @32 :Text $Json.name("requete_page_url");
}

struct HistoryEvent {
  # One event of a lead's history (SPEC §3.3). Stored: `at` and the typed details (the union).
  # Records written before events were typed hold only `event` and `detail` (the union is then
  # `legacy`); rdzd maps their name to the kind (daemon/domain/history.h). In replies rdzd sets
  # `event` to the event's name and `detail` to its French text, for every record.
  at @0 :Int64 $time;
  event @1 :Text;      # recu, transmis, preuve, doublon, opposition, problemes, statut,
                       # livraison, doublon_evite, envoi, rejet, effacement, retrait_lot
  detail @2 :Text;
  union {
    legacy @3 :Void;
    recu @4 :Recu;
    doublon @5 :Doublon;
    opposition @6 :Opposition;
    problemes @7 :List(Text);
    statut @8 :StatutChange;
    livraison @9 :Livraison;
    doublonEvite @10 :DoublonEvite $Json.name("doublon_evite");
    envoi @11 :Envoi;
    rejet @12 :Rejet;
    effacement @13 :Void;
    retraitLot @14 :RetraitLot $Json.name("retrait_lot");
    transmis @15 :Transmis;
    preuve @16 :Preuve;
  }
  # Details hold ids, codes and times set by RDZ, never a value of the lead's personal fields,
  # except `preuve`'s (the request's ip, user agent, page), which an erasure wipes.

  struct Recu {
    via @0 :Text;              # ingest, admin, import
  }
  struct Doublon {
    lead @0 :Text;             # the first lead of the double submission
  }
  struct Opposition {
    list @0 :Entity;           # whose opposition list holds the phone
    run @1 :Text;              # "" at reception; else the run that skipped the lead
  }
  struct StatutChange {
    statut @0 :Statut;
    run @1 :Text;              # the run that aged it to lb, or ""
  }
  struct Livraison {
    delivery @0 :Text;
    commande @1 :Text;
    client @2 :Text;
    entity @3 :Entity;         # the receiving commande's entity (a fallback crosses)
    pass @4 :PassKind;
    batch @5 :Text;
    run @6 :Text;
  }
  struct DoublonEvite {
    client @0 :Text;           # the client that already had the person
    commande @1 :Text;
    run @2 :Text;
    earlier @3 :Int64 $time;   # when that client got it
  }
  struct Envoi {
    batch @0 :Text;
    client @1 :Text;
  }
  struct Rejet {
    reason @0 :Text;
    at @1 :Int64 $time;        # the rejection's time (--at)
    delivery @2 :Text;
    commande @3 :Text;
    client @4 :Text;
    run @5 :Text;
    credit @6 :Text;           # semaine | remplacement_du
  }
  struct RetraitLot {
    delivery @0 :Text;
    batch @1 :Text;
    commande @2 :Text;
    credit @3 :Text;
  }
  struct Transmis {
    accepted @0 :Int64 $time;  # when the gateway accepted the lead (the event's `at`: rdzd got it)
    verdict @1 :Verdict;
    spooled @2 :Bool;          # replayed from the gateway's spool
    enum Verdict {
      used @0;                 # it is recu_le
      notAGateway @1 $Json.name("not_a_gateway");   # ignored: the token has not the role
      inFuture @2 $Json.name("in_future");          # ignored: after rdzd's time
      tooOld @3 $Json.name("too_old");              # ignored: older than the spool's limit
    }
  }
  struct Preuve {
    form @0 :ProofValues;      # what the form sent
    request @1 :ProofValues;   # what the HTTP request said
  }
  struct ProofValues {
    ip @0 :Text;
    userAgent @1 :Text $Json.name("user_agent");
    pageUrl @2 :Text $Json.name("page_url");
  }
}

struct SubmitResult {
  id @0 :Text;
  statut @1 :Statut;
  problemes @2 :List(Text);
}

struct SubmitOutcome {
  # The answer to a submission (SPEC §3.2): stored (valid or invalid), or refused outright with
  # the reason (nothing stored). A failure (storage, shutting down) is an exception instead:
  # DISCONNECTED or OVERLOADED when retrying may succeed, FAILED otherwise.
  union {
    stored @0 :SubmitResult;
    refused @1 :Text;
  }
}

struct ImportRow {
  # One row of `lead import`: either stored (result) or refused with a reason.
  row @0 :UInt32;       # 1-based data row number in the file
  union {
    stored @1 :SubmitResult;
    refused @2 :Text;
  }
}

struct IdempotencyRecord {
  # Stored in the system family under (entity, key).
  bodyHash @0 :Data;    # SHA-256 of the canonical submission
  result @1 :SubmitResult;
  at @2 :Int64 $time;
}

# ---------------------------------------------------------------------------------------------
# Clients, commandes, produits

enum Methode {
  email @0;
  api @1;
}

struct Client {
  id @0 :Text;
  entity @1 :Entity;
  nom @2 :Text;
  emails @3 :List(Text);
  cc @4 :List(Text);
  methode @5 :Methode;
  apiUrl @6 :Text $Json.name("api_url");
  apiHeader @7 :Text $Json.name("api_header");   # "Name: value"; a secret, shown masked
  actif @8 :Bool = true;
  creeLe @9 :Int64 $time $Json.name("cree_le");
  apiConsent @10 :Bool $Json.name("api_consent");
  # methode api: each lead of the JSON carries its consent proof ("consentement" object).
}

struct Commande {
  id @0 :Text;
  entity @1 :Entity;
  client @2 :Text;
  produit @3 :Text;
  departements @4 :List(Text);   # ["*"] for all
  quotaSemaine @5 :UInt32 $Json.name("quota_semaine");
  quotaJour @6 :UInt32 $Json.name("quota_jour");     # 0 = no daily cap
  priorite @7 :UInt8 = 5;
  lbMaxPct @8 :UInt8 $Json.name("lb_max_pct");
  fallback @9 :Bool;
  jours @10 :List(Text);         # lun mar mer jeu ven sam dim
  debut @11 :Text;               # AAAA-MM-JJ or ""
  fin @12 :Text;
  actif @13 :Bool = true;
  creeLe @14 :Int64 $time $Json.name("cree_le");
  remplacementsDus @15 :UInt32 $Json.name("remplacements_dus");
  # Replacements owed for rejections of deliveries counted in an earlier week (SPEC §7.1). Derived:
  # rdzd fills it on every read; it is ignored in what a client sends.
}

struct Produit {
  entity @0 :Entity;
  code @1 :Text;
  libelle @2 :Text;
}

# ---------------------------------------------------------------------------------------------
# Runs, deliveries, batches (the daily run; see SPEC §5–7)

enum PassKind {
  fresh @0;
  freshFallback @1 $Json.name("fresh_fallback");
  lb @2;
  lbFallback @3 $Json.name("lb_fallback");
}

struct Delivery {
  id @0 :Text;
  leadEntity @1 :Entity $Json.name("lead_entity");   # the lead's owner
  entity @2 :Entity;             # the receiving commande's entity
  lead @3 :Text;
  commande @4 :Text;
  client @5 :Text;
  run @6 :Text;                  # run date AAAA-MM-JJ
  pass @7 :PassKind;
  at @8 :Int64 $time;
  batch @9 :Text;
  rejet @10 :Text;               # reason, "" if not rejected
  rejeteLe @11 :Int64 $time $Json.name("rejete_le");
}

enum BatchStatus {
  pending @0;
  sent @1;
  failed @2;
}

struct Batch {
  id @0 :Text;
  entity @1 :Entity;
  client @2 :Text;
  run @3 :Text;
  status @4 :BatchStatus;
  deliveries @5 :List(Text);
  attempts @6 :UInt32;
  nextAttempt @7 :Int64 $time $Json.name("next_attempt");
  lastError @8 :Text $Json.name("last_error");
  sentAt @9 :Int64 $time $Json.name("sent_at");
  responses @10 :List(Text);     # SMTP / HTTP response lines kept for the admin
  partsAccepted @11 :List(UInt32) $Json.name("parts_accepted");
  # methode api: the parts (1-based, one per commande and kind) the client's server already
  # acknowledged with 2xx; a retry posts only the others. Empty for email batches.
  failures @12 :UInt32;          # failed attempts since the last success or resend
}

struct RunSummary {
  # One run (SPEC §5): a date and its scope (both entities, or one). Stored in the system family.
  id @0 :Text;                   # "2026-11-25", or "2026-11-25/zr7" for a one-entity run
  date @1 :Text;
  entity @2 :EntityFilter;
  reference @3 :Int64 $time;     # T: the date at the configured time, Europe/Paris
  status @4 :Text;               # committed (batches being sent), complete (all sent)
  aged @5 :UInt32;               # leads moved to LB by this run
  assigned @6 :UInt32;
  doublonsEvites @7 :UInt32 $Json.name("doublons_evites");
  batches @8 :List(Text);
  dryRun @9 :Bool $Json.name("dry_run");
  alreadyDone @10 :Bool $Json.name("already_done");   # deliver found the run done: nothing new
  plan @11 :List(Delivery);      # dry run: what would be delivered (no ids, nothing written)
  byEntity @12 :List(RunCounts) $Json.name("par_entite");
  # A full run's counts per entity (stored since runs kept them): what an entity-bound session
  # is shown instead of the totals.
}

struct RunTrace {
  # What a run keeps to be explained later (SPEC §7.4, `lead explain`), written in the run's
  # atomic write under system key 'T' run-id and purged 35 days after the run's date. With the
  # run's deliveries and the leads' history of the run, it gives every reason of every lead of the
  # pool (daemon/domain/explain.h). Compact: one entry per commande of the run's scope.
  run @0 :Text;
  date @1 :Text;
  reference @2 :Int64 $time;
  entity @3 :EntityFilter;
  committedAt @4 :Int64 $time;
  freshWindowUs @5 :Int64;
  lbReentryUs @6 :Int64;
  dedupWindowUs @7 :Int64;
  commandes @8 :List(CommandeTrace);
}

struct CommandeTrace {
  # A commande as the run saw it at its start (settings and counters), and where it filled up.
  id @0 :Text;
  entity @1 :Entity;
  client @2 :Text;
  produit @3 :Text;
  departements @4 :Text;         # comma-separated, "*" for all
  jours @5 :Text;                # comma-separated
  debut @6 :Text;
  fin @7 :Text;
  quotaSemaine @8 :UInt32;
  quotaJour @9 :UInt32;
  priorite @10 :UInt8;
  lbMaxPct @11 :UInt8;
  fallback @12 :Bool;
  actif @13 :Bool;
  clientActif @14 :Bool;
  deliveredThisWeek @15 :UInt32;
  lbDeliveredThisWeek @16 :UInt32;
  deliveredToday @17 :UInt32;
  replacementsOwed @18 :UInt32;
  replacementsServedThisWeek @19 :UInt32;
  closures @20 :List(Closure);
}

struct Closure {
  # The commande takes no lead of `pass` from the pass's start (byLead "") or once byLead was
  # given to it; `count` reached `limit` (quota: delivered / quota with replacements owed;
  # quotaJour: delivered today / quota_jour; lbMax: from LB / its LB share).
  pass @0 :PassKind;
  why @1 :Full;
  count @2 :UInt32;
  limit @3 :UInt32;
  byLead @4 :Text;
  byRecuLe @5 :Int64;

  enum Full {
    quota @0;
    quotaJour @1;
    lbMax @2;
  }
}

struct Explanation {
  # `lead explain` (SPEC §7.4): why the lead went where it went, or nowhere, in one run.
  lead @0 :Text;
  date @1 :Text;
  resultat @2 :Resultat;
  commande @3 :Text;             # the commande it went to, "" when none
  raisons @4 :List(Raison);

  enum Resultat {
    livre @0;
    nonLivre @1 $Json.name("non_livre");
  }

  struct Raison {
    # One commande of the lead's produit (or, hors_run, the lead was not in the run's pool).
    passe @0 :Text;              # fresh, fresh_fallback, lb, lb_fallback; "" for hors_run
    commande @1 :Text;
    client @2 :Text;
    raison @3 :Code;
    detail @4 :Text;             # short French text

    enum Code {
      attribue @0;
      departement @1;
      inactif @2;
      jour @3;
      periode @4;
      quotaAtteint @5 $Json.name("quota_atteint");
      quotaJourAtteint @6 $Json.name("quota_jour_atteint");
      lbMaxAtteint @7 $Json.name("lb_max_atteint");
      pasDeFallback @8 $Json.name("pas_de_fallback");
      doublonClient @9 $Json.name("doublon_client");
      opposition @10;
      devance @11;
      horsRun @12 $Json.name("hors_run");
    }
  }
}

struct RunCounts {
  entity @0 :Entity;
  aged @1 :UInt32;               # this entity's leads moved to LB
  assigned @2 :UInt32;           # deliveries to this entity's clients
  doublonsEvites @3 :UInt32 $Json.name("doublons_evites");   # this entity's leads skipped
}

# ---------------------------------------------------------------------------------------------
# Capabilities (SPEC §8.1)

enum Role {
  ingest @0;
  admin @1;
  viewer @2;
}

interface Bootstrap {
  # The only thing reachable without a token.
  authenticate @0 (token :Text) -> (session :Session);
  login @1 (name :Text, password :Text, address :Text) -> (session :Session);
  # A person's name and password (SPEC §8.4: the console). `address` is where the person is, as
  # the caller vouches for it (the console: the browser's IP address); rdzd prefixes it with the
  # RPC peer (uid on the Unix socket, IP over TCP) and slows repeated failures per name and per
  # that address. Refused (same message for every cause): unknown name, wrong password, user not
  # actif, or too many failures lately. The password is never logged.
}

struct Session {
  role @0 :Role;
  entity @1 :EntityFilter;       # the entity the token is bound to, or all
  # Exactly the capabilities the role allows; the others are null.
  ingest @2 :Ingest;
  viewer @3 :Viewer;
  admin @4 :Admin;
}

interface Ingest {
  # Bound to one entity. Returns once the lead is durable (WAL synced). Validation problems are
  # data in the result; refusals (size, UTF-8, idempotency conflict) are exceptions.
  submit @0 (fields :List(Field), idempotencyKey :Text, request :HttpRequest) -> SubmitOutcome;
  # `request`: what the gateway saw of the HTTP post (unset for other callers).
}

struct HttpRequest {
  # The HTTP post a lead came in, as rdz-gateway saw it: the consent proof of the request
  # (SPEC §3.1) and how the gateway handled it. Not part of the idempotency body hash.
  ip @0 :Text;                   # the client address, through trusted proxies
  userAgent @1 :Text;            # User-Agent
  pageUrl @2 :Text;              # Referer, else Origin
  acceptedAt @3 :Int64 $time;    # when the gateway accepted the post; 0: not given
  # Becomes recu_le only for a gateway token (tokens file role `gateway`), within bounds.
  spooled @4 :Bool;              # replayed from the gateway's spool
  honeypot @5 :Bool;             # the form filled the hidden honeypot field: spam.honeypot
}

interface Viewer {
  # Listings are paginated (SPEC §10): at most `limit` items (0: 1000; never more than 1000), ids
  # after `after`; `next` is the id to pass as `after` for the next page ("" on the last page).
  listClients @0 (entity :EntityFilter, limit :UInt32, after :Text)
      -> (clients :List(Client), next :Text);
  getClient @1 (id :Text) -> (client :Client);
  listCommandes @2 (entity :EntityFilter, client :Text, limit :UInt32, after :Text)
      -> (commandes :List(Commande), next :Text);
  getCommande @3 (id :Text) -> (commande :Commande);
  listProduits @4 (entity :Entity) -> (produits :List(Produit));
  getLead @5 (id :Text) -> (lead :Lead, history :List(HistoryEvent));
  findLeads @6 (telephone :Text, entity :EntityFilter) -> (leads :List(Lead));
  listRuns @7 (limit :UInt32, after :Text) -> (runs :List(RunSummary), next :Text);
  getRun @8 (id :Text) -> (run :RunSummary, batches :List(Batch));
  listBatches @9 (status :Text, limit :UInt32, after :Text) -> (batches :List(Batch), next :Text);
  stats @10 (entity :EntityFilter, from :Text, to :Text, produit :Text, client :Text)
      -> (report :StatsReport);
  # SPEC §7.3: the daily counters of the entities asked (all the token may see when `all`), every
  # day from `from` to `to` (AAAA-MM-JJ, Europe/Paris; "": today, and `from` "" is `to`), at most
  # 1000 days. `produit` / `client` ("": any) filter the delivery-side counters and the commandes.
  # Reads counters kept in step with every change: no lead is read.
  explainLead @11 (id :Text, date :Text) -> (explanation :Explanation, dryRun :Bool);
  # SPEC §7.4. date "": the run of the lead's latest delivery, else the next run (today's if it
  # has not run for the lead's entity, else tomorrow's), computed as a dry run. A date without a
  # run is computed as a dry run from today on, refused before. For a run that happened, the
  # answer comes from what the run recorded, not from today's settings. dryRun: nothing was run
  # (the answer says what the run would do). Refusals: unknown lead (or another entity's, for a
  # bound session), no such run, a run that kept no explanation (before this existed, or over 35
  # days old).
}

interface Admin extends(Viewer) {
  addClient @0 (client :Client) -> (id :Text);
  setClient @1 (client :Client);
  addCommande @2 (commande :Commande) -> (id :Text);
  setCommande @3 (commande :Commande);
  addProduit @4 (produit :Produit);
  submitLead @5 (entity :Entity, fields :List(Field), idempotencyKey :Text)
      -> SubmitOutcome;
  importLeads @6 (entity :Entity, rows :List(List(Field))) -> (rows :List(ImportRow));
  # Later issues (daily run, after delivery); unimplemented methods answer "unimplemented".
  deliver @7 (date :Text, at :Int64, entity :EntityFilter, dryRun :Bool, force :Bool)
      -> (run :RunSummary, batches :List(Batch));
  # date "" and at 0: today (Europe/Paris) at the configured time; at set: its Paris date, at T.
  # A date after today (Europe/Paris) is refused unless force (a dry run never is).
  resendBatch @8 (id :Text);
  rejectLead @9 (id :Text, reason :Text, at :Int64) -> (rejection :Rejection);
  # SPEC §7.1. at 0: now. Refusals (unknown lead or reason, never delivered, already rejected,
  # window over, another entity's lead) are exceptions; nothing is written then.
  eraseLeads @10 (telephone :Text, entity :EntityFilter) -> (count :UInt32);
  # SPEC §7.2: wipes the person's fields on every lead of that number in the entities asked (all
  # the token may touch when `all`), drops them from unsent batches, adds the number to those
  # entities' opposition lists. Returns once the wiped values are gone from the data directory's
  # files (flushed, compacted, obsolete files deleted).
  backup @11 (dir :Text);
  addOpposition @12 (entity :Entity, telephones :List(Text)) -> (added :UInt32, already :UInt32);
  # Any French form; all numbers are checked before anything is written (one bad number: refused).
  removeOpposition @13 (entity :Entity, telephone :Text) -> (removed :Bool);
  checkOpposition @14 (telephone :Text) -> (entities :List(Entity));
  # The entities (among those the token may see) whose list holds the number.
  countOpposition @15 (entity :EntityFilter) -> (counts :List(OppositionCount));
  audit @16 () -> (report :AuditReport);
  # SPEC §7.5: every invariant checked on one consistent snapshot, on a worker thread, while
  # ingestion and runs go on (seconds for a million leads). An entity-bound token audits its
  # entity. One audit at a time: a second call while one runs is refused.
  addUser @17 (user :User) -> (password :Text);
  # SPEC §8.4: a person of the console. rdzd generates the password and returns it once (only its
  # scrypt hash is stored). Users are managed by an admin bound to no entity only.
  listUsers @18 (limit :UInt32, after :Text) -> (users :List(User), next :Text);
  setUser @19 (user :User, newPassword :Bool) -> (password :Text);
  # Sets role, entity and actif of user `user.name`; with newPassword, a new generated password
  # (returned once), else password "". A session of a user whose role or entity changed, or who
  # is no longer actif, is refused from then on.
}

struct User {
  # A person who logs in to the console (SPEC §8.4). Never holds the password or its hash.
  name @0 :Text;                 # [a-z0-9._@-], 1..64, lower case
  role @1 :Role;                 # admin or viewer
  entity @2 :EntityFilter;       # bound to one entity, or all
  actif @3 :Bool = true;
  creeLe @4 :Int64 $time $Json.name("cree_le");
}

struct StoredUser {
  # The system family's record of a user: the user and its password's scrypt hash (OpenSSL's
  # EVP_PBE_scrypt), with the salt and the parameters it was computed with.
  user @0 :User;
  salt @1 :Data;
  scryptN @2 :UInt64;
  scryptR @3 :UInt32;
  scryptP @4 :UInt32;
  hash @5 :Data;
}

struct Rejection {
  # The answer to rejectLead (rdzctl lead reject --json).
  id @0 :Text;
  statut @1 :Statut;
  commande @2 :Text;
  client @3 :Text;
  credit @4 :Text;               # "semaine": this week's counter went down; "remplacement_du"
}

struct OppositionCount {
  entity @0 :Entity;
  count @1 :UInt32;
}

# ---------------------------------------------------------------------------------------------
# Stats (SPEC §7.3)

struct ProblemCount {
  code @0 :Text;
  count @1 :UInt32;
}

struct StatsDay {
  # The counters of one entity and one Europe/Paris day, or of a period (a total: no date). Also
  # the value of a counter row of the `stats` family (no date: the key has it). What a day is and
  # whose counter each one is: daemon/domain/stats.h.
  date @0 :Text;
  recus @1 :UInt32;                  # leads received (recu_le), valid or not
  invalides @2 :List(ProblemCount);  # blocking problem code -> leads; JSON: one object
  livresFresh @3 :UInt32 $Json.name("livres_fresh");
  livresLb @4 :UInt32 $Json.name("livres_lb");
  fallbackEntrants @5 :UInt32 $Json.name("fallback_entrants");   # the other entity's leads, to ours
  fallbackSortants @6 :UInt32 $Json.name("fallback_sortants");   # our leads, to the other's clients
  doublonsEvites @7 :UInt32 $Json.name("doublons_evites");
  rejetes @8 :UInt32;                # by rejection date
  effaces @9 :UInt32;                # by erasure date
  stockLb @10 :Int64 = -1 $nullable $Json.name("stock_lb");      # after the day's run; null without
  freshInvendus @11 :Int64 = -1 $nullable $Json.name("fresh_invendus");
}

struct StatsCommande {
  # A commande's figures for the ISO week of the report's `to`.
  id @0 :Text;
  client @1 :Text;
  produit @2 :Text;
  quotaSemaine @3 :UInt32 $Json.name("quota_semaine");
  livresSemaine @4 :UInt32 $Json.name("livres_semaine");
  lbSemaine @5 :UInt32 $Json.name("lb_semaine");
  remplacementsDus @6 :UInt32 $Json.name("remplacements_dus");
  completionPct @7 :UInt32 $Json.name("completion_pct");   # floor(100 x livres / quota)
  manque @8 :UInt32;                 # quota - livres, 0 once met
}

struct StatsEntity {
  entity @0 :Entity;
  days @1 :List(StatsDay);           # every day from `from` to `to`, in order
  total @2 :StatsDay;                # the period: sums; stock_lb, fresh_invendus of its last run
  commandes @3 :List(StatsCommande);
}

struct StatsReport {
  from @0 :Text;
  to @1 :Text;
  entities @2 :List(StatsEntity);
}

struct RunStats {
  # What a run counted for one entity, kept in that entity's `stats` family (key `r` run id): the
  # record the counters of a run are recounted from (the pools it left cannot be recounted later).
  stockLb @0 :Int64 = -1;
  freshInvendus @1 :Int64 = -1;
  doublons @2 :List(DoublonCount);   # this entity's leads passed over, per produit and client
}

struct DoublonCount {
  produit @0 :Text;
  client @1 :Text;
  count @2 :UInt32;
}

struct AuditReport {
  # The answer to audit (rdzctl audit --json).
  ok @0 :Bool;                   # no violation
  checked @1 :AuditCounts;
  violations @2 :List(AuditViolation);
  # The first 1000 violations found; violationsTotal counts them all.
  violationsTotal @3 :UInt32 $Json.name("violations_total");
}

struct AuditCounts {
  # What the audit read, in the entities audited.
  leads @0 :UInt32;
  indexEntries @1 :UInt32 $Json.name("index_entries");
  deliveries @2 :UInt32;
  batches @3 :UInt32;
  quotaCounters @4 :UInt32 $Json.name("quota_counters");
}

struct AuditViolation {
  invariant @0 :Text;            # a stable name: lead.nb_livraisons, index.missing, … (OPERATIONS.md)
  key @1 :Text;                  # family/key of the record at fault; bytes outside ASCII as \xHH
  detail @2 :Text;               # for a person: ids and counts, no personal data
}
