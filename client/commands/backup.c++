// rdzctl backup DIR (docs/OPERATIONS.md).
#include "client/command.h"

namespace rdz {
namespace {

int runBackup(Command& cmd) {
  if (!cmd.has("dir")) throw UsageError("backup needs DIR");
  auto req = cmd.connection().admin().backupRequest();
  req.setDir(cmd.get("dir"));
  req.send().wait(cmd.wait());
  JsonObject answer;
  answer.addString("backup", cmd.get("dir"));
  cmd.print(answer,
            [&](std::ostream& out) { out << "backup written to " << cmd.get("dir") << "\n"; });
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup backup() {
  return {
      {.noun = "backup",
       .usage = "backup DIR",
       .about = "online copy of the database into DIR (a path on rdzd's machine)",
       .options =
           [](po::options_description& o) {
             o.add_options()("dir", po::value<std::string>(),
                             "new directory for the copy, on rdzd's machine");
           },
       .positional = {"dir"},
       .run = runBackup},
  };
}

}  // namespace commands
}  // namespace rdz
