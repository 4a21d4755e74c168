// rdzctl lead explain (SPEC §7.4): not built yet; registered so that it answers exit 1.
#include "client/command.h"

namespace rdz::commands {

CommandGroup explain() {
  return {{.noun = "lead", .verb = "explain", .usage = "lead explain ID [--date D]"}};
}

}  // namespace rdz::commands
