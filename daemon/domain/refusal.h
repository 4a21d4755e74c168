// A refusal of bad input, worded for the person who typed it. rdzd's clients show an exception's
// description as it is (rdzctl on stderr, the console next to the form), so it must be the
// message alone: KJ_REQUIRE would append each extra argument as "; name = value" (and its
// condition), which reads as a debug trace. Messages are French, like the console (SPEC §8.4).
#pragma once

#include <string_view>

namespace rdz {

// Throws a kj::Exception of type FAILED whose description is exactly `message`.
[[noreturn]] void refuse(std::string_view message);

}  // namespace rdz
