// rdzctl deliver, run list|show, batch list|resend (SPEC §5, §6, §8.2).
#include <fmt/format.h>

#include <chrono>

#include "client/command.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/time.h"

namespace rdz {
namespace {

std::string batchLine(schema::Batch::Reader b) {
  static const char* STATUS[] = {"pending", "sent", "failed"};
  std::string line =
      fmt::format("  batch {} {} {} leads: {}", b.getId().cStr(), b.getClient().cStr(),
                  b.getDeliveries().size(), STATUS[static_cast<int>(b.getStatus())]);
  if (b.getStatus() != schema::BatchStatus::SENT && b.getLastError().size() > 0) {
    line += std::string(" (") + b.getLastError().cStr() + ")";
  }
  return line;
}

std::string runLine(schema::RunSummary::Reader r) {
  return fmt::format(
      "run {}: {} — {} leads assigned, {} aged to LB, {} duplicates avoided, {} "
      "batches",
      r.getId().cStr(), r.getStatus().cStr(), r.getAssigned(), r.getAged(), r.getDoublonsEvites(),
      r.getBatches().size());
}

bool anyWithStatus(capnp::List<schema::Batch>::Reader batches, schema::BatchStatus status) {
  for (auto b : batches) {
    if (b.getStatus() == status) return true;
  }
  return false;
}

int deliver(Command& cmd) {
  auto req = cmd.connection().admin().deliverRequest();
  req.setDate(cmd.get("date"));
  if (cmd.has("date") && !isIsoDate(cmd.get("date"))) throw UsageError("--date must be AAAA-MM-JJ");
  if (cmd.has("at")) {
    auto at = parseIso(cmd.get("at"));
    if (!at) throw UsageError("--at must be an ISO 8601 time, e.g. 2026-11-25T09:30:00+01:00");
    req.setAt(at->time_since_epoch().count());
  }
  if (cmd.has("entity")) {
    req.initEntity().setOne(entityArg(cmd.get("entity")));
  } else {
    req.initEntity().setAll();
  }
  req.setDryRun(cmd.has("dry-run"));
  req.setForce(cmd.has("force"));
  uint32_t waitSeconds = numberArg("wait", cmd.get("wait"), 3600);
  auto resp = req.send().wait(cmd.wait());
  auto run = resp.getRun();
  if (run.getDryRun()) {
    cmd.print(resp, [&](std::ostream& out) {
      out << runLine(run) << "\n";
      for (auto d : run.getPlan()) {
        printLine(out, d, {"lead", "lead_entity", "commande", "client", "entity", "pass"});
      }
    });
    return EXIT_OK;
  }

  // Wait for the first attempt of every batch, so that the operator sees what went out.
  std::string id = run.getId().cStr();
  auto getRun = [&]() {
    auto r = cmd.connection().viewer().getRunRequest();
    r.setId(id);
    return r.send().wait(cmd.wait());
  };
  auto current = getRun();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(waitSeconds);
  while (anyWithStatus(current.getBatches(), schema::BatchStatus::PENDING) &&
         std::chrono::steady_clock::now() < deadline) {
    kj::Duration step = 200 * kj::MILLISECONDS;
    cmd.connection().timer().afterDelay(step).wait(cmd.wait());
    current = getRun();
  }
  JsonObject result;
  result.addBool("already_done", run.getAlreadyDone())
      .addRecord("run", current.getRun())
      .addRecord("batches", current.getBatches());
  cmd.print(result, [&](std::ostream& out) {
    if (run.getAlreadyDone()) out << "already done: nothing allocated again\n";
    out << runLine(current.getRun()) << "\n";
    for (auto b : current.getBatches()) out << batchLine(b) << "\n";
  });
  // Failed, or still unconfirmed when the wait ended: the morning's unit must not look fine.
  // rdzd keeps trying either way.
  bool unconfirmed =
      waitSeconds > 0 && anyWithStatus(current.getBatches(), schema::BatchStatus::PENDING);
  return anyWithStatus(current.getBatches(), schema::BatchStatus::FAILED) || unconfirmed
             ? EXIT_FAILED
             : EXIT_OK;
}

int runList(Command& cmd) {
  auto req = cmd.connection().viewer().listRunsRequest();
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  cmd.print(resp, [&](std::ostream& out) {
    for (auto r : resp.getRuns()) out << runLine(r) << "\n";
  });
  return EXIT_OK;
}

int runShow(Command& cmd) {
  auto req = cmd.connection().viewer().getRunRequest();
  req.setId(cmd.get("id"));
  auto resp = req.send().wait(cmd.wait());
  cmd.print(resp, [&](std::ostream& out) {
    out << runLine(resp.getRun()) << "\n";
    for (auto b : resp.getBatches()) out << batchLine(b) << "\n";
  });
  return EXIT_OK;
}

int batchList(Command& cmd) {
  auto req = cmd.connection().viewer().listBatchesRequest();
  req.setStatus(cmd.get("status"));
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  cmd.print(resp, [&](std::ostream& out) {
    for (auto b : resp.getBatches()) {
      printLine(out, b, {"id", "entity", "client", "run", "status", "attempts", "last_error"});
    }
  });
  return EXIT_OK;
}

int batchResend(Command& cmd) {
  auto req = cmd.connection().admin().resendBatchRequest();
  req.setId(cmd.get("id"));
  req.send().wait(cmd.wait());
  JsonObject answer;
  answer.addString("resend", cmd.get("id"));
  cmd.print(answer, [&](std::ostream& out) {
    out << "batch " << cmd.get("id") << " will be sent again now\n";
  });
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup delivery() {
  return {
      {.noun = "deliver",
       .usage = "deliver [--date D | --at T] [--entity E] [--dry-run] [--force] [--wait SECONDS]",
       .about = "run the daily allocation (default: today at the delivery time, 09:30\n"
                "Paris unless rdzd is configured otherwise), commit it, and\n"
                "wait for the batches' first sending attempt (exit 1 if one failed or\n"
                "is still unconfirmed when the wait ends; --wait 0: do not wait).\n"
                "A date after today is refused without --force. After a one-entity\n"
                "run, a full run of the same date runs the other entity alone.",
       .options =
           [](po::options_description& o) {
             o.add_options()("date", po::value<std::string>(),
                             "run date AAAA-MM-JJ (default: today, Paris)")(
                 "at", po::value<std::string>(),
                 "reference time, ISO 8601 with offset (its Paris date runs)")(
                 "entity", po::value<std::string>(), "run one entity only (no fallback crossing)")(
                 "dry-run", "compute and print the plan; write nothing")(
                 "force", "run a date after today (Europe/Paris)")(
                 "wait", po::value<std::string>()->default_value("60"),
                 "seconds to wait for the batches' first sending attempt (0: do not wait)");
           },
       .run = deliver},
      {.noun = "run",
       .verb = "list",
       .usage = "run list [--limit N] [--after ID]",
       .options = addPaging,
       .run = runList},
      {.noun = "run",
       .verb = "show",
       .usage = "run show DATE",
       .about = "a run and its batches (DATE, or DATE/zr7, DATE/mdl for a one-entity run)",
       .options =
           [](po::options_description& o) {
             o.add_options()("id", po::value<std::string>()->required(),
                             "run date (or DATE/zr7 …)");
           },
       .positional = {"id"},
       .run = runShow},
      {.noun = "batch",
       .verb = "list",
       .usage = "batch list [--status pending|sent|failed] [--limit N] [--after ID]",
       .options =
           [](po::options_description& o) {
             o.add_options()("status", po::value<std::string>(), "pending, sent or failed");
             addPaging(o);
           },
       .run = batchList},
      {.noun = "batch",
       .verb = "resend",
       .usage = "batch resend ID",
       .about = "send the batch again now (a sent one in full; a failed one without\n"
                "the API parts its client already accepted)",
       .options =
           [](po::options_description& o) {
             o.add_options()("id", po::value<std::string>()->required(), "batch id");
           },
       .positional = {"id"},
       .run = batchResend},
  };
}

}  // namespace commands
}  // namespace rdz
