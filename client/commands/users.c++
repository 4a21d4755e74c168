// rdzctl user add|list|set (SPEC §8.2, the console's accounts): not built yet; registered so
// that they answer exit 1.
#include "client/command.h"

namespace rdz::commands {

CommandGroup users() {
  return {
      {.noun = "user", .verb = "add", .usage = "user add NAME --role admin|viewer [--entity E]"},
      {.noun = "user", .verb = "list", .usage = "user list"},
      {.noun = "user", .verb = "set", .usage = "user set NAME [--password] [--actif oui|non]"},
  };
}

}  // namespace rdz::commands
