// rdzctl opposition add|import|remove|check|count (SPEC §7.2): the list of keyed hashes of the
// numbers whose leads are never delivered.
#include <kj/debug.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_set>

#include "client/command.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/validation.h"

namespace rdz {
namespace {

// Sends `phones` to the list in chunks (one write each); returns {added, already}.
std::pair<uint64_t, uint64_t> addToOpposition(Command& cmd, schema::Entity entity,
                                              const std::vector<std::string>& phones) {
  constexpr size_t CHUNK = 50000;  // ~1 MB per message, well under Cap'n Proto's limits
  // A few chunks in flight: rdzd hashes the next one on its event loop while its writer stores
  // the one before. Each chunk is its own atomic write; a failure stops the import (what was
  // stored stays, and importing again is idempotent).
  constexpr size_t IN_FLIGHT = 4;
  uint64_t added = 0, already = 0;
  std::deque<kj::Promise<capnp::Response<schema::Admin::AddOppositionResults>>> pending;
  auto collect = [&]() {
    auto resp = pending.front().wait(cmd.wait());
    pending.pop_front();
    added += resp.getAdded();
    already += resp.getAlready();
  };
  for (size_t start = 0; start < phones.size(); start += CHUNK) {
    size_t n = std::min(CHUNK, phones.size() - start);
    auto req = cmd.connection().admin().addOppositionRequest();
    req.setEntity(entity);
    auto list = req.initTelephones(n);
    for (size_t i = 0; i < n; ++i) list.set(i, phones[start + i]);
    pending.push_back(req.send());
    if (pending.size() == IN_FLIGHT) collect();
  }
  while (!pending.empty()) collect();
  return {added, already};
}

int oppositionAdd(Command& cmd) {
  if (!cmd.has("entity") || !cmd.has("phone")) {
    throw UsageError("opposition add needs --entity E PHONE...");
  }
  auto phones = cmd.getAll("phone");
  for (size_t i = 0; i < phones.size(); ++i) {
    if (!normalizePhone(phones[i])) {
      throw std::runtime_error("not a valid French phone number: '" + phones[i] +
                               "' (nothing was added)");
    }
  }
  // Plain variables, not a structured binding: the printing lambda captures them (clang 14).
  auto sent = addToOpposition(cmd, entityArg(cmd.get("entity")), phones);
  uint64_t added = sent.first, already = sent.second;
  JsonObject counts;
  counts.addNumber("added", added).addNumber("already", already);
  cmd.print(counts, [&](std::ostream& out) {
    out << added << " added, " << already << " already on the list\n";
  });
  return EXIT_OK;
}

// The file's lines, trimmed ("" for blank lines), in order.
std::vector<std::string> fileLines(const std::string& text) {
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = trim(std::string_view(text).substr(start, end - start));
    while (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(kj::mv(line));
    start = end + 1;
  }
  return lines;
}

int oppositionImport(Command& cmd) {
  if (!cmd.has("entity") || !cmd.has("file")) {
    throw UsageError("opposition import needs --entity E FILE");
  }
  auto entity = entityArg(cmd.get("entity"));
  // Parsed here (libphonenumber, the same rule as rdzd's), so that bad lines are reported by
  // their number and only E.164 numbers travel; the same number twice is sent once.
  std::vector<std::string> lines = fileLines(readWholeFile(cmd.get("file")));
  // libphonenumber takes ~20 µs a number: parsed on every core.
  std::vector<std::optional<std::string>> parsed(lines.size());
  size_t workers = std::max<size_t>(1, std::min<size_t>(8, std::thread::hardware_concurrency()));
  {
    std::vector<std::thread> threads;
    for (size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&, w]() {
        for (size_t i = w; i < lines.size(); i += workers) {
          if (!lines[i].empty()) parsed[i] = normalizePhone(lines[i]);
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  std::vector<std::string> phones;
  std::vector<std::pair<size_t, std::string>> bad;
  std::unordered_set<std::string> seen;
  size_t count = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    ++count;
    if (!parsed[i]) {
      bad.emplace_back(i + 1, lines[i]);
    } else if (seen.insert(*parsed[i]).second) {
      phones.push_back(kj::mv(*parsed[i]));
    }
  }
  // Plain variables, not a structured binding: the printing lambda captures them (clang 14).
  auto sent = addToOpposition(cmd, entity, phones);
  uint64_t added = sent.first, already = sent.second;
  JsonObject report;
  report.addNumber("lines", count).addNumber("added", added).addNumber("already", already);
  auto invalid = report.member("invalid").initArray(bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    auto fields = invalid[i].initObject(2);
    fields[0].setName("line");
    fields[0].initValue().setNumber(bad[i].first);
    fields[1].setName("text");
    fields[1].initValue().setString(bad[i].second);
  }
  cmd.print(report, [&](std::ostream& out) {
    for (auto& [n, line] : bad) {
      out << "line " << n << ": not a valid French phone number: " << line << "\n";
    }
    out << count << " numbers read: " << added << " added, " << already << " already on the list, "
        << bad.size() << " not parsed\n";
  });
  return bad.empty() ? EXIT_OK : EXIT_FAILED;
}

int oppositionRemove(Command& cmd) {
  if (!cmd.has("entity") || !cmd.has("phone")) {
    throw UsageError("opposition remove needs --entity E PHONE");
  }
  if (!normalizePhone(cmd.get("phone")))
    throw std::runtime_error("not a valid French phone number");
  auto req = cmd.connection().admin().removeOppositionRequest();
  req.setEntity(entityArg(cmd.get("entity")));
  req.setTelephone(cmd.get("phone"));
  bool removed = req.send().wait(cmd.wait()).getRemoved();
  JsonObject answer;
  answer.addBool("removed", removed);
  cmd.print(answer, [&](std::ostream& out) {
    out << (removed ? "removed from the list\n" : "was not on the list\n");
  });
  return EXIT_OK;
}

int oppositionCheck(Command& cmd) {
  if (!cmd.has("phone")) throw UsageError("opposition check needs PHONE");
  if (!normalizePhone(cmd.get("phone")))
    throw std::runtime_error("not a valid French phone number");
  auto req = cmd.connection().admin().checkOppositionRequest();
  req.setTelephone(cmd.get("phone"));
  auto resp = req.send().wait(cmd.wait());
  cmd.print(resp, [&](std::ostream& out) {
    std::string on;
    for (auto e : resp.getEntities()) {
      on += (on.empty() ? "" : ", ") + std::string(entityName(static_cast<Entity>(e)));
    }
    out << (on.empty() ? "on no opposition list" : "on the opposition list of " + on) << "\n";
  });
  return EXIT_OK;
}

int oppositionCount(Command& cmd) {
  auto req = cmd.connection().admin().countOppositionRequest();
  if (cmd.has("entity")) {
    req.initEntity().setOne(entityArg(cmd.get("entity")));
  } else {
    req.initEntity().setAll();
  }
  auto resp = req.send().wait(cmd.wait());
  cmd.print(resp, [&](std::ostream& out) {
    for (auto c : resp.getCounts()) {
      out << entityName(static_cast<Entity>(c.getEntity())) << " " << c.getCount() << "\n";
    }
  });
  return EXIT_OK;
}

void entityOption(po::options_description& o) {
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL");
}

}  // namespace

namespace commands {

CommandGroup opposition() {
  return {
      {.noun = "opposition",
       .verb = "add",
       .usage = "opposition add --entity E PHONE...",
       .about = "the opposition list (keyed hashes, never numbers): a lead on its\n"
                "entity's list is stored invalid (telephone.oppose) and never delivered",
       .options =
           [](po::options_description& o) {
             entityOption(o);
             o.add_options()("phone", po::value<std::vector<std::string>>(),
                             "phone numbers, any French form");
           },
       .positional = {"phone"},
       .lastRepeats = true,
       .run = oppositionAdd},
      {.noun = "opposition",
       .verb = "import",
       .usage = "opposition import --entity E FILE",
       .about = "one number per line (any French form); unparsed lines are reported\n"
                "with their number (exit 1), the others added; idempotent",
       .options =
           [](po::options_description& o) {
             entityOption(o);
             o.add_options()("file", po::value<std::string>(),
                             "one phone number per line, any French form");
           },
       .positional = {"file"},
       .run = oppositionImport},
      {.noun = "opposition",
       .verb = "remove",
       .usage = "opposition remove --entity E PHONE",
       .options =
           [](po::options_description& o) {
             entityOption(o);
             o.add_options()("phone", po::value<std::string>(), "phone number, any French form");
           },
       .positional = {"phone"},
       .run = oppositionRemove},
      {.noun = "opposition",
       .verb = "check",
       .usage = "opposition check PHONE",
       .about = "the entities on whose list the number is",
       .options =
           [](po::options_description& o) {
             o.add_options()("phone", po::value<std::string>(), "phone number, any French form");
           },
       .positional = {"phone"},
       .run = oppositionCheck},
      {.noun = "opposition",
       .verb = "count",
       .usage = "opposition count [--entity E]",
       .options = entityOption,
       .run = oppositionCount},
  };
}

}  // namespace commands
}  // namespace rdz
