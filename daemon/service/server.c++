#include "daemon/service/server.h"

#include <kj/debug.h>

#include <algorithm>
#include <memory>
#include <type_traits>

#include "daemon/domain/fault-point.h"
#include "daemon/domain/history.h"
#include "daemon/domain/time.h"
#include "daemon/domain/validation.h"
#include "daemon/service/after-delivery.h"
#include "daemon/service/audit.h"
#include "daemon/service/explain.h"
#include "daemon/service/files.h"
#include "daemon/service/log.h"
#include "daemon/service/metrics.h"
#include "daemon/service/operations.h"
#include "daemon/service/stats.h"
#include "daemon/service/users.h"
#include "daemon/service/worker-thread.h"
#include "daemon/store/codec.h"
#include "daemon/store/records.h"

namespace rdz {

namespace {

using EntityScope = std::optional<Entity>;  // nullopt: every entity

std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// The entities a request may touch, given the token's scope and the request's filter.
std::vector<Entity> entitiesIn(EntityScope scope, schema::EntityFilter::Reader filter) {
  std::vector<Entity> out;
  if (filter.isOne()) {
    Entity wanted = fromCapnp(filter.getOne());
    KJ_REQUIRE(!scope || *scope == wanted, "this token is bound to another entity",
               std::string(entityName(*scope)));
    out.push_back(wanted);
  } else if (scope) {
    out.push_back(*scope);
  } else {
    out.assign(std::begin(ALL_ENTITIES), std::end(ALL_ENTITIES));
  }
  return out;
}

std::vector<Entity> entitiesIn(EntityScope scope) {
  if (scope) return {*scope};
  return {std::begin(ALL_ENTITIES), std::end(ALL_ENTITIES)};
}

void requireEntity(EntityScope scope, Entity e) {
  KJ_REQUIRE(!scope || *scope == e, "this token is bound to another entity",
             std::string(entityName(*scope)));
}

// Listings (SPEC §10): no reply grows with the database.
constexpr uint32_t MAX_PAGE = 1000;
size_t pageSize(uint32_t asked) { return asked == 0 || asked > MAX_PAGE ? MAX_PAGE : asked; }

// `items` holds up to limit + 1 records of each entity listed: keeps the first `limit` in id order
// and returns the id to continue after ("" when that was all).
template <typename T>
std::string takePage(std::vector<T>& items, size_t limit) {
  std::sort(items.begin(), items.end(), [](const T& a, const T& b) { return a.id < b.id; });
  if (items.size() <= limit) return "";
  items.resize(limit);
  return items.back().id;
}

void fillStored(const SubmitAnswer& answer, schema::SubmitResult::Builder out) {
  out.setId(answer.id);
  out.setStatut(toCapnp(answer.statut));
  auto problemes = out.initProblemes(answer.problemes.size());
  for (size_t i = 0; i < answer.problemes.size(); ++i) problemes.set(i, answer.problemes[i]);
}

void fillOutcome(const SubmitAnswer& answer, schema::SubmitOutcome::Builder out) {
  if (!answer.refused.empty()) {
    out.setRefused(answer.refused);
  } else {
    fillStored(answer, out.initStored());
  }
}

kj::Promise<SubmitAnswer> submit(ServiceContext& ctx, IngestRequest request) {
  return kj::evalNow([&ctx, &request]() {
    request.opposition = ctx.opposition;
    // What needs no store (validation, hashes) here on the event loop, beside the writer: the
    // single writer only applies the rules that read and write the store.
    auto& codes = ctx.catalogues[static_cast<size_t>(request.entity)];
    if (codes.empty()) codes = catalogueCodes(ctx.store, request.entity);
    request.prepared = prepareIngest(request, codes);
    if (request.prepared->produitUnknown) {
      auto stored = catalogueCodes(ctx.store, request.entity);
      if (stored != codes) {
        codes = kj::mv(stored);
        request.prepared = prepareIngest(request, codes);
      }
    }
    return ctx.writes.run<SubmitAnswer>([&ids = ctx.ids, request = kj::mv(request)](
                                            Txn& txn) { return ingestLead(txn, ids, request); },
                                        Writes::OUTSIDE_RUNS);
  });
}

class IngestImpl final : public schema::Ingest::Server {
 public:
  // `gateway`: the token's role is gateway, whose acceptance times are believed (within bounds).
  IngestImpl(ServiceContext& ctx, Entity entity, std::string caller, bool gateway)
      : ctx_(ctx), entity_(entity), caller_(kj::mv(caller)), gateway_(gateway) {}

  kj::Promise<void> submit(SubmitContext context) override {
    auto params = context.getParams();
    IngestRequest request{entity_,
                          fromCapnp(params.getFields()),
                          str(params.getIdempotencyKey()),
                          ctx_.clock.now(),
                          false,
                          gateway_ ? "gateway" : "ingest",
                          caller_};
    if (params.hasRequest()) {
      auto http = params.getRequest();
      request.request = HttpRequestProof{str(http.getIp()), str(http.getUserAgent()),
                                         str(http.getPageUrl()), http.getHoneypot()};
      if (http.getAcceptedAt() != 0) request.acceptedAt = Timestamp(Duration(http.getAcceptedAt()));
      request.trustAcceptedAt = gateway_;
      request.spooled = http.getSpooled();
      request.spoolMaxAge = ctx_.spoolMaxAge;
    }
    return rdz::submit(ctx_, kj::mv(request)).then([context](SubmitAnswer answer) mutable {
      fillOutcome(answer, context.getResults());
    });
  }

 private:
  ServiceContext& ctx_;
  Entity entity_;
  std::string caller_;
  bool gateway_;
};

// Read-only operations, shared by the viewer and the admin capabilities.
template <typename Base>
class ViewerMethods : public Base {
 public:
  ViewerMethods(ServiceContext& ctx, EntityScope scope, std::string caller)
      : ctx_(ctx), scope_(scope), caller_(kj::mv(caller)) {}

  // A session given by login (SPEC §8.4) to user `name` with `role`: every call first checks that
  // the user still is what it was at login (users.h requireLiveUser).
  void bindUser(std::string name, Role role) {
    user_ = kj::mv(name);
    role_ = role;
  }

  capnp::Capability::Server::DispatchCallResult dispatchCall(
      uint64_t interfaceId, uint16_t methodId,
      capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context) override {
    if (!user_.empty()) requireLiveUser(ctx_.store, user_, role_, scope_);
    return Base::dispatchCall(interfaceId, methodId, context);
  }

  // A viewer sees that a client has an API header, not its value (it is the client's secret);
  // an admin sees it, since `client set` writes back what it read.
  static constexpr bool showsSecrets() { return std::is_same_v<Base, schema::Admin::Server>; }
  static void present(Client& client) {
    if (!showsSecrets() && !client.apiHeader.empty()) {
      client.apiHeader = client.apiHeader.substr(0, client.apiHeader.find(':') + 1) + " ***";
    }
  }

  using typename Base::ExplainLeadContext;
  using typename Base::FindLeadsContext;
  using typename Base::GetClientContext;
  using typename Base::GetCommandeContext;
  using typename Base::GetLeadContext;
  using typename Base::GetRunContext;
  using typename Base::ListBatchesContext;
  using typename Base::ListClientsContext;
  using typename Base::ListCommandesContext;
  using typename Base::ListProduitsContext;
  using typename Base::ListRunsContext;
  using typename Base::StatsContext;

  kj::Promise<void> listClients(ListClientsContext context) override {
    auto params = context.getParams();
    size_t limit = pageSize(params.getLimit());
    std::vector<Client> clients;
    for (Entity e : entitiesIn(scope_, params.getEntity())) {
      for (auto& c : rdz::listClients(ctx_.store, e, str(params.getAfter()), limit + 1)) {
        present(c);
        clients.push_back(kj::mv(c));
      }
    }
    context.getResults().setNext(takePage(clients, limit));
    auto out = context.getResults().initClients(clients.size());
    for (size_t i = 0; i < clients.size(); ++i) toCapnp(clients[i], out[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> getClient(GetClientContext context) override {
    Client client = findClient(str(context.getParams().getId()));
    present(client);
    toCapnp(client, context.getResults().initClient());
    return kj::READY_NOW;
  }

  kj::Promise<void> listCommandes(ListCommandesContext context) override {
    auto params = context.getParams();
    std::string client = str(params.getClient());
    size_t limit = pageSize(params.getLimit());
    std::vector<Commande> commandes;
    for (Entity e : entitiesIn(scope_, params.getEntity())) {
      for (auto& c : rdz::listCommandes(
               ctx_.store, e, str(params.getAfter()), limit + 1,
               [&](const Commande& c) { return client.empty() || c.client == client; })) {
        commandes.push_back(kj::mv(c));
      }
    }
    context.getResults().setNext(takePage(commandes, limit));
    auto out = context.getResults().initCommandes(commandes.size());
    for (size_t i = 0; i < commandes.size(); ++i) present(commandes[i], out[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> getCommande(GetCommandeContext context) override {
    present(findCommande(str(context.getParams().getId())), context.getResults().initCommande());
    return kj::READY_NOW;
  }

  // A commande with its derived fields (replacements owed, SPEC §7.1).
  void present(const Commande& c, schema::Commande::Builder out) {
    toCapnp(c, out);
    out.setRemplacementsDus(replacementsOwed(ctx_.store, c.entity, c.id));
  }

  kj::Promise<void> listProduits(ListProduitsContext context) override {
    Entity e = fromCapnp(context.getParams().getEntity());
    requireEntity(scope_, e);
    auto produits = rdz::listProduits(ctx_.store, e);
    auto out = context.getResults().initProduits(produits.size());
    for (size_t i = 0; i < produits.size(); ++i) toCapnp(produits[i], out[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> getLead(GetLeadContext context) override {
    std::string id = str(context.getParams().getId());
    for (Entity e : entitiesIn(scope_)) {
      KJ_IF_MAYBE (lead, rdz::getLead(ctx_.store, e, id)) {
        auto results = context.getResults();
        toCapnp(*lead, results.initLead());
        auto history = getHistory(ctx_.store, e, id);
        auto out = results.initHistory(history.size());
        for (size_t i = 0; i < history.size(); ++i) {
          toCapnp(history[i], out[i]);
          // Every event with its name and its French text, typed or legacy.
          out[i].setEvent(std::string(historyEventName(history[i])));
          out[i].setDetail(historyText(history[i]));
        }
        return kj::READY_NOW;
      }
    }
    KJ_FAIL_REQUIRE("no such lead", id);
  }

  kj::Promise<void> listRuns(ListRunsContext context) override {
    auto params = context.getParams();
    size_t limit = pageSize(params.getLimit());
    std::vector<RunRecord> runs;
    for (auto& r : rdz::listRuns(ctx_.store, str(params.getAfter()), limit + 1,
                                 [this](const RunRecord& r) { return visible(r); })) {
      runs.push_back(presented(kj::mv(r)));
    }
    context.getResults().setNext(takePage(runs, limit));
    auto out = context.getResults().initRuns(runs.size());
    for (size_t i = 0; i < runs.size(); ++i) toCapnp(runs[i], out[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> getRun(GetRunContext context) override {
    std::string id = str(context.getParams().getId());
    KJ_IF_MAYBE (run, rdz::getRun(ctx_.store, id)) {
      if (visible(*run)) {
        auto results = context.getResults();
        toCapnp(presented(*run), results.initRun());
        fillBatches(scoped(batchesOfRun(ctx_.store, *run)), results);
        return kj::READY_NOW;
      }
    }
    KJ_FAIL_REQUIRE("no such run", id);
  }

  kj::Promise<void> listBatches(ListBatchesContext context) override {
    std::string status = str(context.getParams().getStatus());
    KJ_REQUIRE(status.empty() || status == "pending" || status == "sent" || status == "failed",
               "status must be pending, sent or failed");
    auto params = context.getParams();
    size_t limit = pageSize(params.getLimit());
    std::vector<Batch> batches;
    for (Entity e : entitiesIn(scope_)) {
      for (auto& b :
           rdz::listBatches(ctx_.store, e, str(params.getAfter()), limit + 1, [&](const Batch& b) {
             return status.empty() || batchStatusName(b.status) == status;
           })) {
        batches.push_back(kj::mv(b));
      }
    }
    context.getResults().setNext(takePage(batches, limit));
    fillBatches(batches, context.getResults());
    return kj::READY_NOW;
  }

  // SPEC §7.4. On a worker thread: a dry run plans the whole run. The job owns what the thread
  // reads (the store and the settings outlive every session).
  kj::Promise<void> explainLead(ExplainLeadContext context) override {
    struct Job {
      Store& store;
      RunSettings settings;
      const OppositionKey* opposition;
      EntityScope scope;
      std::string id;
      std::string date;
      Timestamp now;
      Explanation answer = {};
    };
    auto params = context.getParams();
    auto job = kj::heap<Job>(Job{ctx_.store, ctx_.runSettings, ctx_.opposition, scope_,
                                 str(params.getId()), str(params.getDate()), ctx_.clock.now()});
    Job* j = job.get();
    return onWorkerThread([j]() {
             j->answer = explainLeadInStore(j->store, j->settings, j->opposition, j->scope, j->id,
                                            j->date, j->now);
           })
        .then([context, job = kj::mv(job)]() mutable {
          auto results = context.getResults();
          toCapnp(job->answer, results.initExplanation());
          results.setDryRun(job->answer.dryRun);
        });
  }

  kj::Promise<void> stats(StatsContext context) override {
    auto p = context.getParams();
    StatsRequest request = resolveStatsRequest(
        ctx_.store, entitiesIn(scope_, p.getEntity()), str(p.getFrom()), str(p.getTo()),
        str(p.getProduit()), str(p.getClient()), ctx_.clock.now());
    // Computed off the event loop (a year is a few thousand counter rows); the reply is filled
    // back on it.
    auto report = std::make_shared<StatsReportData>();
    return onWorkerThread([&store = ctx_.store, request = kj::mv(request), report]() {
             *report = computeStatsReport(store, request);
           })
        .then([context, report]() mutable {
          fillStatsReport(*report, context.getResults().initReport());
        });
  }

  kj::Promise<void> findLeads(FindLeadsContext context) override {
    auto params = context.getParams();
    auto e164 = normalizePhone(str(params.getTelephone()));
    KJ_REQUIRE(e164.has_value(), "not a valid French phone number");
    std::vector<Lead> leads;
    for (Entity e : entitiesIn(scope_, params.getEntity())) {
      for (auto& l : leadsByPhone(ctx_.store, e, *e164)) leads.push_back(kj::mv(l));
    }
    auto out = context.getResults().initLeads(leads.size());
    for (size_t i = 0; i < leads.size(); ++i) toCapnp(leads[i], out[i]);
    return kj::READY_NOW;
  }

 protected:
  // A token bound to one entity sees the runs that concern it and only its own batches.
  bool visible(const RunRecord& run) const {
    return !scope_ || !run.entity || run.entity == scope_;
  }
  std::vector<Batch> scoped(std::vector<Batch> batches) const {
    if (scope_) std::erase_if(batches, [&](const Batch& b) { return b.entity != *scope_; });
    return batches;
  }
  RunRecord withLiveStatus(RunRecord run) const {
    return rdz::withLiveStatus(ctx_.store, kj::mv(run));
  }
  // A run as this session may see it: for a token bound to one entity, a full run shows that
  // entity's batches, counts and live status only (nothing of the other company's activity).
  RunRecord presented(RunRecord run) const {
    if (!scope_ || run.entity) return withLiveStatus(kj::mv(run));
    auto batches = scoped(batchesOfRun(ctx_.store, run));
    run.batches.clear();
    uint32_t delivered = 0;
    for (auto& b : batches) {
      run.batches.push_back(b.id);
      delivered += b.deliveries.size();
    }
    auto own = run.byEntity.find(*scope_);
    // Runs recorded before per-entity counts were kept: only what the batches tell.
    RunCounts counts = own != run.byEntity.end() ? own->second : RunCounts{0, delivered, 0};
    run.aged = counts.aged;
    run.assigned = counts.assigned;
    run.doublonsEvites = counts.doublonsEvites;
    run.byEntity = {{*scope_, counts}};
    bool allSent = std::all_of(batches.begin(), batches.end(),
                               [](const Batch& b) { return b.status == BatchStatus::SENT; });
    run.status = allSent ? "complete" : "committed";
    return run;
  }

  template <typename Results>
  static void fillBatches(const std::vector<Batch>& batches, Results results) {
    auto out = results.initBatches(batches.size());
    for (size_t i = 0; i < batches.size(); ++i) toCapnp(batches[i], out[i]);
  }

  Client findClient(const std::string& id) {
    for (Entity e : entitiesIn(scope_)) {
      KJ_IF_MAYBE (c, rdz::getClient(ctx_.store, e, id)) {
        return kj::mv(*c);
      }
    }
    refuseUnknownClient(id);
  }

  Commande findCommande(const std::string& id) {
    for (Entity e : entitiesIn(scope_)) {
      KJ_IF_MAYBE (c, rdz::getCommande(ctx_.store, e, id)) {
        return kj::mv(*c);
      }
    }
    refuseUnknownCommande(id);
  }

  ServiceContext& ctx_;
  EntityScope scope_;
  std::string caller_;  // Grant::caller
  std::string user_;    // the user of a login session; "" for a token's
  Role role_ = Role::VIEWER;
};

class ViewerImpl final : public ViewerMethods<schema::Viewer::Server> {
 public:
  using ViewerMethods::ViewerMethods;
};

class AdminImpl final : public ViewerMethods<schema::Admin::Server> {
 public:
  using ViewerMethods::ViewerMethods;

  kj::Promise<void> addClient(AddClientContext context) override {
    Client client = fromCapnp(context.getParams().getClient());
    requireEntity(scope_, client.entity);
    return ctx_.writes
        .run<std::string>([client = kj::mv(client), now = ctx_.clock.now()](Txn& txn) mutable {
          return rdz::addClient(txn, kj::mv(client), now);
        })
        .then([context](std::string id) mutable { context.getResults().setId(id); });
  }

  kj::Promise<void> setClient(SetClientContext context) override {
    Client client = fromCapnp(context.getParams().getClient());
    Client current = findClient(client.id);
    if (current.entity != client.entity) refuseEntityChange();
    return ctx_.writes.run<void>(
        [client = kj::mv(client)](Txn& txn) mutable { rdz::setClient(txn, kj::mv(client)); });
  }

  kj::Promise<void> addCommande(AddCommandeContext context) override {
    Commande commande = fromCapnp(context.getParams().getCommande());
    // The entity is the client's; the one in the request is ignored.
    commande.entity = findClient(commande.client).entity;
    return ctx_.writes
        .run<std::string>([commande = kj::mv(commande), now = ctx_.clock.now()](Txn& txn) mutable {
          return rdz::addCommande(txn, kj::mv(commande), now);
        })
        .then([context](std::string id) mutable { context.getResults().setId(id); });
  }

  kj::Promise<void> setCommande(SetCommandeContext context) override {
    Commande commande = fromCapnp(context.getParams().getCommande());
    Commande current = findCommande(commande.id);
    commande.entity = current.entity;
    return ctx_.writes.run<void>([commande = kj::mv(commande)](Txn& txn) mutable {
      rdz::setCommande(txn, kj::mv(commande));
    });
  }

  kj::Promise<void> addProduit(AddProduitContext context) override {
    Produit produit = fromCapnp(context.getParams().getProduit());
    requireEntity(scope_, produit.entity);
    return ctx_.writes.run<void>(
        [produit = kj::mv(produit)](Txn& txn) mutable { rdz::addProduit(txn, kj::mv(produit)); });
  }

  kj::Promise<void> submitLead(SubmitLeadContext context) override {
    auto params = context.getParams();
    Entity e = fromCapnp(params.getEntity());
    requireEntity(scope_, e);
    IngestRequest request{e,
                          fromCapnp(params.getFields()),
                          str(params.getIdempotencyKey()),
                          ctx_.clock.now(),
                          false,
                          "admin",
                          caller_};
    return submit(ctx_, kj::mv(request)).then([context](SubmitAnswer answer) mutable {
      fillOutcome(answer, context.getResults());
    });
  }

  kj::Promise<void> importLeads(ImportLeadsContext context) override {
    auto params = context.getParams();
    Entity e = fromCapnp(params.getEntity());
    requireEntity(scope_, e);
    // One job per row: a refused row does not stop the others, and all rows share group
    // commits. Results keep the file's order.
    auto rows = params.getRows();
    auto promises = kj::heapArrayBuilder<kj::Promise<void>>(rows.size());
    auto results = context.getResults().initRows(rows.size());
    Timestamp now = ctx_.clock.now();
    for (uint32_t i = 0; i < rows.size(); ++i) {
      results[i].setRow(i + 1);
      IngestRequest request{e, fromCapnp(rows[i]), "", now, true, "import", caller_};
      promises.add(submit(ctx_, kj::mv(request))
                       .then(
                           [results, i](SubmitAnswer answer) mutable {
                             if (!answer.refused.empty()) {
                               results[i].setRefused(answer.refused);
                             } else {
                               fillStored(answer, results[i].initStored());
                             }
                           },
                           [results, i](kj::Exception&& e) mutable {
                             // A failure (storage), not a refusal: the row may be imported
                             // again.
                             results[i].setRefused(
                                 kj::str("not stored, try again: ", e.getDescription()));
                           }));
    }
    return kj::joinPromises(promises.finish());
  }

  kj::Promise<void> deliver(DeliverContext context) override {
    auto p = context.getParams();
    std::optional<Entity> entity;
    if (p.getEntity().isOne()) entity = fromCapnp(p.getEntity().getOne());
    // A run decides for both entities (fallback crosses them): an entity-bound admin may only
    // run its own entity.
    KJ_REQUIRE(!scope_ || entity == scope_, "this token may only run its own entity: --entity");
    std::optional<Timestamp> at;
    if (p.getAt() != 0) at = Timestamp(Duration(p.getAt()));
    RunParams asked = runParams(ctx_.runSettings, str(p.getDate()), at, entity, ctx_.clock.now());

    if (p.getDryRun()) {
      struct DryRun {
        RunScope scope;
        std::vector<Batch> batches;  // of the done runs
        RunPlan plan;                // of the run to make
      };
      return onSnapshot<kj::Own<DryRun>>(
                 ctx_.store,
                 [asked, opposition = ctx_.opposition](Reader& r) {
                   auto dry = kj::heap<DryRun>();
                   dry->scope = resolveRun(r, asked);
                   if (!dry->scope.toRun) {
                     for (auto& done : dry->scope.done) {
                       auto more = batchesOfRun(r, done);
                       dry->batches.insert(dry->batches.end(), more.begin(), more.end());
                     }
                   } else {
                     dry->plan = planRunFromStore(r, *dry->scope.toRun, opposition);
                   }
                   return dry;
                 })
          .then([this, context](kj::Own<DryRun> dry) mutable {
            auto results = context.getResults();
            if (!dry->scope.toRun) {
              // Nothing would be allocated: the plan of a done run is what it did.
              toCapnp(presented(dry->scope.done.front()), results.initRun());
              results.getRun().setAlreadyDone(true);
              results.getRun().setDryRun(true);
              fillBatches(scoped(kj::mv(dry->batches)), results);
              return;
            }
            const RunParams& params = *dry->scope.toRun;
            const RunPlan& plan = dry->plan;
            auto run = results.initRun();
            run.setId(runId(params.date, params.onlyEntity));
            run.setDate(params.date);
            run.setReference(params.reference.time_since_epoch().count());
            run.setStatus("dry-run");
            run.setDryRun(true);
            run.setAged(plan.aging.size());
            run.setAssigned(plan.assignments.size());
            run.setDoublonsEvites(plan.duplicates.size());
            auto out = run.initPlan(plan.assignments.size());
            for (size_t i = 0; i < plan.assignments.size(); ++i) {
              auto& a = plan.assignments[i];
              out[i].setLeadEntity(toCapnp(a.leadEntity));
              out[i].setEntity(toCapnp(a.commandeEntity));
              out[i].setLead(a.leadId);
              out[i].setCommande(a.commandeId);
              out[i].setClient(a.client);
              out[i].setRun(params.date);
              out[i].setPass(static_cast<schema::PassKind>(a.pass));
              out[i].setAt(params.reference.time_since_epoch().count());
            }
          });
    }

    const Timestamp now = ctx_.clock.now();
    checkRunDate(asked, now, p.getForce());
    // Planned and written on a snapshot off the writer (seconds at a million leads, ingestion
    // going on), then committed by the writer (executeRun) as it was written when only jobs
    // outside runs wrote meanwhile, else checked and, if need be, planned again there. The
    // lambdas hold what outlives the WriteQueue (the store, the ids, the opposition key), never
    // the context, which goes before the queue has run its last jobs.
    const uint64_t mark = ctx_.writes.changeMark();  // before the snapshot
    auto committed =
        onLowPriorityThread<kj::Own<PlannedRun>>(
            [&store = ctx_.store, &ids = ctx_.ids, opposition = ctx_.opposition, asked, now,
             mark]() { return prepareRun(store, ids, asked, now, opposition, mark); })
            .then([&ctx = ctx_, asked](kj::Own<PlannedRun> plan) {
              if (plan->plan) {
                logInfo(
                    "run {}: planned on a snapshot in {:.2f} s (reading {:.2f} s, "
                    "allocating {:.2f} s; CPU {:.2f} s), written there in {:.2f} s (CPU {:.2f} s)",
                    runId(plan->scope.toRun->date, plan->scope.toRun->onlyEntity),
                    plan->readSeconds + plan->planSeconds, plan->readSeconds, plan->planSeconds,
                    plan->planCpuSeconds, plan->prepareSeconds, plan->prepareCpuSeconds);
              }
              // A run written again on the writer is stamped with the writer's time (its leads may
              // have been received while it was prepared).
              return ctx.writes.run<RunOutcome>(
                  [&writes = ctx.writes, &ids = ctx.ids, opposition = ctx.opposition, asked,
                   now = ctx.clock.now(), plan = kj::mv(plan)](Txn& txn) mutable {
                    bool untouched = writes.onlyOutsideRunsSince(plan->changeMark);
                    return executeRun(txn, ids, asked, now, opposition, plan.get(), untouched);
                  },
                  Writes::ANY, Group::ALONE);
            })
            .then([&ctx = ctx_](RunOutcome outcome) {
              faultPoint("run.after_commit");  // the run's group is synced; nothing sent yet
              if (outcome.replanned) {
                logInfo("run {}: planned again on the writer: {}", outcome.run.id,
                        outcome.staleBecause);
              }
              if (!outcome.alreadyDone) {
                logInfo(
                    "run {}: {} leads assigned, {} aged to LB, {} duplicates avoided, {} "
                    "batches; on the writer: {}, checked in {:.2f} s, written in {:.2f} s",
                    outcome.run.id, outcome.run.assigned, outcome.run.aged,
                    outcome.run.doublonsEvites, outcome.batches.size(),
                    outcome.fromSnapshot ? "committed as written on the snapshot"
                                         : "written again on the current state",
                    outcome.checkSeconds, outcome.writeSeconds);
              }
              ctx.wakeSenders();
              return outcome;
            })
            .fork();
    // A run once started is carried to its commit even if its caller goes away: the event loop
    // keeps one branch (a dropped call would otherwise wait, on the event loop, for the planning
    // thread to end). Asked again, the committed run is answered as done.
    committed.addBranch().ignoreResult().detach(
        [](kj::Exception&& e) { logInfo("run failed: {}", e.getDescription().cStr()); });
    return committed.addBranch().then([this, context](RunOutcome outcome) mutable {
      auto results = context.getResults();
      toCapnp(presented(outcome.run), results.initRun());
      results.getRun().setAlreadyDone(outcome.alreadyDone);
      fillBatches(scoped(kj::mv(outcome.batches)), results);
    });
  }

  kj::Promise<void> resendBatch(ResendBatchContext context) override {
    std::string id = str(context.getParams().getId());
    std::vector<Entity> entities = entitiesIn(scope_);
    return ctx_.writes
        .run<void>([id, entities, now = ctx_.clock.now()](Txn& txn) {
          for (Entity e : entities) {
            KJ_IF_MAYBE (batch, getBatch(txn, e, id)) {
              Batch updated = *batch;
              // Resending a sent batch sends all of it again; a failed one keeps the API parts
              // its client already acknowledged.
              if (batch->status == BatchStatus::SENT) updated.partsAccepted.clear();
              updated.status = BatchStatus::PENDING;
              updated.failures = 0;
              updated.nextAttempt = now;
              updated.responses.push_back(formatIso(now) + " resend");
              putBatch(txn, updated, &*batch);
              countBatch(txn, &*batch, updated);
              return;
            }
          }
          KJ_FAIL_REQUIRE("no such batch", id);
        })
        .then([this]() { ctx_.wakeSenders(); });
  }

  kj::Promise<void> backup(BackupContext context) override {
    // A copy holds both entities: only an admin of every entity may take one.
    KJ_REQUIRE(!scope_, "backup needs an admin token for all entities");
    std::string dir = str(context.getParams().getDir());
    KJ_REQUIRE(!dir.empty(), "backup needs a directory");
    return onSnapshot<bool>(ctx_.store,
                            [&store = ctx_.store, dir, keyFile = ctx_.oppositionKeyFile](Reader&) {
                              store.checkpoint(dir);
                              // The opposition list is hashed with the install's secret: without
                              // it, a restored list could not be checked. The copy is the secret's
                              // file beside the database's.
                              if (!keyFile.empty()) {
                                auto secret = readFileIfExists(keyFile);
                                KJ_REQUIRE(secret.has_value(),
                                           "cannot read the opposition key file");
                                writeFileSecure(dir + "/" + OPPOSITION_KEY_FILE, *secret, 0600);
                              }
                              return true;
                            })
        .ignoreResult();
  }

  // ---- after delivery (SPEC §7.1–7.2) ----

  kj::Promise<void> rejectLead(RejectLeadContext context) override {
    auto p = context.getParams();
    Timestamp now = ctx_.clock.now();
    Timestamp at = p.getAt() != 0 ? Timestamp(Duration(p.getAt())) : now;
    return ctx_.writes
        .run<RejectAnswer>(
            [scope = scope_, id = str(p.getId()), reason = str(p.getReason()), at, now](Txn& txn) {
              return rdz::rejectLead(txn, scope, id, reason, at, now);
            })
        .then([context](RejectAnswer answer) mutable {
          auto out = context.getResults().initRejection();
          out.setId(answer.id);
          out.setStatut(toCapnp(answer.statut));
          out.setCommande(answer.commande);
          out.setClient(answer.client);
          out.setCredit(std::string(creditName(answer.credit)));
        });
  }

  kj::Promise<void> eraseLeads(EraseLeadsContext context) override {
    auto p = context.getParams();
    std::string e164 = phoneArg(str(p.getTelephone()));
    std::vector<Entity> entities = entitiesIn(scope_, p.getEntity());
    std::string hash = oppositionKey().hash(e164);
    Store& store = ctx_.store;
    return ctx_.writes
        .run<ErasureOutcome>([entities, e164, hash, now = ctx_.clock.now()](Txn& txn) {
          return rdz::eraseLeads(txn, entities, e164, hash, now);
        })
        .then([&store](ErasureOutcome outcome) {
          // The records are committed; now the files: flush, compact, delete the obsolete
          // ones, on a worker thread (seconds on a large database).
          auto ranges = kj::mv(outcome.ranges);
          uint32_t leads = outcome.leads;
          return onWorkerThread(
                     [&store, ranges = kj::mv(ranges)]() { store.purgeOldVersions(ranges); })
              .then([leads]() { return leads; });
        })
        .then([context](uint32_t leads) mutable {
          logInfo("erasure: {} leads wiped, files purged", leads);
          context.getResults().setCount(leads);
        });
  }

  kj::Promise<void> addOpposition(AddOppositionContext context) override {
    auto p = context.getParams();
    Entity e = fromCapnp(p.getEntity());
    requireEntity(scope_, e);
    const OppositionKey& key = oppositionKey();
    auto phones = p.getTelephones();
    std::vector<std::string> hashes;
    hashes.reserve(phones.size());
    for (uint32_t i = 0; i < phones.size(); ++i) {
      // Text already in E.164 form (what `opposition import` sends, parsed by rdzctl) is taken as
      // is: libphonenumber costs ~20 µs a number, and the hash of a number no lead can have is
      // inert. Any other form is parsed here.
      std::string text = str(phones[i]);
      if (isE164Form(text)) {
        hashes.push_back(key.hash(text));
        continue;
      }
      auto e164 = normalizePhone(text);
      // The message says which one without repeating it (rdzd's logs keep no phone).
      KJ_REQUIRE(e164.has_value(), "not a valid French phone number: number", i + 1);
      hashes.push_back(key.hash(*e164));
    }
    // In key order, the writer's lookups and inserts (its batch index, the memtable) walk their
    // skip lists forward instead of jumping: half the job's time on a 50,000-number chunk.
    std::sort(hashes.begin(), hashes.end());
    return ctx_.writes
        .run<std::pair<uint32_t, uint32_t>>(
            [e, hashes = kj::mv(hashes), now = ctx_.clock.now()](Txn& txn) {
              uint32_t added = 0, already = 0;
              for (auto& h : hashes) {
                if (isOpposed(txn, e, h)) {
                  ++already;
                } else {
                  putOpposition(txn, e, h, now);
                  ++added;
                }
              }
              return std::make_pair(added, already);
            })
        .then([context](std::pair<uint32_t, uint32_t> counts) mutable {
          context.getResults().setAdded(counts.first);
          context.getResults().setAlready(counts.second);
        });
  }

  kj::Promise<void> removeOpposition(RemoveOppositionContext context) override {
    auto p = context.getParams();
    Entity e = fromCapnp(p.getEntity());
    requireEntity(scope_, e);
    std::string hash = oppositionKey().hash(phoneArg(str(p.getTelephone())));
    return ctx_.writes
        .run<bool>([e, hash](Txn& txn) {
          if (!isOpposed(txn, e, hash)) return false;
          deleteOpposition(txn, e, hash);
          return true;
        })
        .then([context](bool removed) mutable { context.getResults().setRemoved(removed); });
  }

  kj::Promise<void> checkOpposition(CheckOppositionContext context) override {
    std::string hash = oppositionKey().hash(phoneArg(str(context.getParams().getTelephone())));
    std::vector<Entity> on;
    for (Entity e : entitiesIn(scope_)) {
      if (isOpposed(ctx_.store, e, hash)) on.push_back(e);
    }
    auto out = context.getResults().initEntities(on.size());
    for (size_t i = 0; i < on.size(); ++i) out.set(i, toCapnp(on[i]));
    return kj::READY_NOW;
  }

  // ---- the console's users (SPEC §8.4) ----

  kj::Promise<void> addUser(AddUserContext context) override {
    requireAllEntities();
    return rdz::addUser(ctx_, fromCapnp(context.getParams().getUser()))
        .then([context](std::string password) mutable {
          context.getResults().setPassword(password);
        });
  }

  kj::Promise<void> listUsers(ListUsersContext context) override {
    requireAllEntities();
    auto params = context.getParams();
    size_t limit = pageSize(params.getLimit());
    auto users = rdz::listUsers(ctx_.store, str(params.getAfter()), limit + 1);
    std::string next;
    if (users.size() > limit) {
      users.resize(limit);
      next = users.back().name;
    }
    context.getResults().setNext(next);
    auto out = context.getResults().initUsers(users.size());
    for (size_t i = 0; i < users.size(); ++i) toCapnp(users[i], out[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> setUser(SetUserContext context) override {
    requireAllEntities();
    auto params = context.getParams();
    return rdz::setUser(ctx_, fromCapnp(params.getUser()), params.getNewPassword())
        .then([context](std::string password) mutable {
          context.getResults().setPassword(password);
        });
  }

  kj::Promise<void> audit(AuditContext context) override {
    AuditOptions options;
    options.entities = entitiesIn(scope_);
    options.dedupWindow = ctx_.runSettings.dedupWindow;
    options.opposition = ctx_.opposition;
    auto started = std::chrono::steady_clock::now();
    return auditOnWorkerThread(ctx_.store, kj::mv(options))
        .then([context, started](kj::Own<AuditReport> report) mutable {
          // Counts only: keys and details may hold phones (index keys).
          logInfo("audit: {} leads, {} deliveries checked in {:.1f} s, {} violations",
                  report->checked.leads, report->checked.deliveries,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                  report->violationsTotal);
          toCapnp(*report, context.getResults().initReport());
        });
  }

  kj::Promise<void> countOpposition(CountOppositionContext context) override {
    auto entities = entitiesIn(scope_, context.getParams().getEntity());
    auto out = context.getResults().initCounts(entities.size());
    for (size_t i = 0; i < entities.size(); ++i) {
      out[i].setEntity(toCapnp(entities[i]));
      out[i].setCount(rdz::countOpposition(ctx_.store, entities[i]));
    }
    return kj::READY_NOW;
  }

 private:
  void requireAllEntities() {
    KJ_REQUIRE(!scope_, "users are managed by an admin of every entity");
  }

  const OppositionKey& oppositionKey() {
    KJ_REQUIRE(ctx_.opposition != nullptr, "the opposition list is not configured in this rdzd");
    return *ctx_.opposition;
  }

  static bool isE164Form(const std::string& text) {
    return text.size() >= 9 && text.size() <= 16 && text[0] == '+' && text[1] != '0' &&
           std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  static std::string phoneArg(const std::string& text) {
    auto e164 = normalizePhone(text);
    KJ_REQUIRE(e164.has_value(), "not a valid French phone number");
    return *e164;
  }
};

class BootstrapImpl final : public schema::Bootstrap::Server {
 public:
  BootstrapImpl(ServiceContext& ctx, kj::Maybe<kj::Function<void()>> authenticated,
                std::string peer)
      : ctx_(ctx), authenticated_(kj::mv(authenticated)), peer_(kj::mv(peer)) {}

  kj::Promise<void> authenticate(AuthenticateContext context) override {
    auto token = context.getParams().getToken();
    KJ_IF_MAYBE (grant, ctx_.auth.check(std::string_view(token.cStr(), token.size()))) {
      fillSession(context.getResults().initSession(), grant->role, grant->entity, grant->caller,
                  "");
      return kj::READY_NOW;
    }
    // The token is neither logged nor echoed.
    return KJ_EXCEPTION(FAILED, "not authenticated: unknown token");
  }

  kj::Promise<void> login(LoginContext context) override {
    auto params = context.getParams();
    // The address is the caller's word (the console: the browser's address), kept apart per RPC
    // peer so that one peer's claims never slow another's users.
    std::string address = peer_ + "/" + str(params.getAddress()).substr(0, 128);
    return checkLogin(ctx_, str(params.getName()), str(params.getPassword()), kj::mv(address))
        .then([this, context](User user) mutable {
          fillSession(context.getResults().initSession(), user.role, user.entity,
                      "user:" + user.name, user.name);
        });
  }

 private:
  void fillSession(schema::Session::Builder session, Role role, std::optional<Entity> scope,
                   const std::string& caller, const std::string& user) {
    auto entity = session.initEntity();
    if (scope) {
      entity.setOne(toCapnp(*scope));
    } else {
      entity.setAll();
    }
    switch (role) {
      case Role::INGEST:
      case Role::GATEWAY:  // an ingest session whose acceptance times are believed
        session.setRole(schema::Role::INGEST);
        session.setIngest(kj::heap<IngestImpl>(ctx_, *scope, caller, role == Role::GATEWAY));
        break;
      case Role::VIEWER: {
        session.setRole(schema::Role::VIEWER);
        auto viewer = kj::heap<ViewerImpl>(ctx_, scope, caller);
        if (!user.empty()) viewer->bindUser(user, role);
        session.setViewer(kj::mv(viewer));
        break;
      }
      case Role::ADMIN: {
        session.setRole(schema::Role::ADMIN);
        auto impl = kj::heap<AdminImpl>(ctx_, scope, caller);
        if (!user.empty()) impl->bindUser(user, role);
        schema::Admin::Client admin = kj::mv(impl);
        session.setViewer(admin);  // an Admin is a Viewer
        session.setAdmin(kj::mv(admin));
        break;
      }
    }
    KJ_IF_MAYBE (f, authenticated_) {
      (*f)();
    }
  }

  ServiceContext& ctx_;
  kj::Maybe<kj::Function<void()>> authenticated_;
  std::string peer_;
};

}  // namespace

kj::Own<schema::Bootstrap::Server> newBootstrap(ServiceContext& context) {
  return kj::heap<BootstrapImpl>(context, nullptr, "local");
}

kj::Own<schema::Bootstrap::Server> newBootstrap(ServiceContext& context,
                                                kj::Function<void()> authenticated,
                                                std::string peer) {
  return kj::heap<BootstrapImpl>(context, kj::mv(authenticated), kj::mv(peer));
}

}  // namespace rdz
