#include "daemon/domain/refusal.h"

#include <kj/exception.h>

namespace rdz {

void refuse(std::string_view message) {
  kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                        kj::heapString(message.data(), message.size())));
}

}  // namespace rdz
