// The console's own static files, built in: its style sheet and its one script (the chart). No
// inline script or style anywhere (CSP default-src 'self').
#pragma once

namespace rdz::console {

extern const char CONSOLE_CSS[];
extern const char CONSOLE_JS[];

}  // namespace rdz::console
