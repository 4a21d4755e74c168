// rdzctl audit (SPEC §7.5): not built yet; registered so that it answers exit 1.
#include "client/command.h"

namespace rdz::commands {

CommandGroup audit() { return {{.noun = "audit", .usage = "audit"}}; }

}  // namespace rdz::commands
