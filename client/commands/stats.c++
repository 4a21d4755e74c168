// rdzctl stats (SPEC §7.3): not built yet; registered so that it answers exit 1.
#include "client/command.h"

namespace rdz::commands {

CommandGroup stats() {
  return {{.noun = "stats",
           .usage = "stats [--entity E] [--from D] [--to D] [--produit P] [--client ID]"}};
}

}  // namespace rdz::commands
