#include "daemon/domain/types.h"

#include <kj/debug.h>

namespace rdz {

std::string_view entityName(Entity e) {
  switch (e) {
    case Entity::ZR7:
      return "ZR7";
    case Entity::MDL:
      return "MDL";
  }
  KJ_UNREACHABLE;
}

std::string_view entitySlug(Entity e) {
  switch (e) {
    case Entity::ZR7:
      return "zr7";
    case Entity::MDL:
      return "mdl";
  }
  KJ_UNREACHABLE;
}

std::optional<Entity> parseEntity(std::string_view text) {
  for (Entity e : ALL_ENTITIES) {
    std::string_view name = entityName(e);
    if (text.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != name[i]) {
        same = false;
        break;
      }
    }
    if (same) return e;
  }
  return std::nullopt;
}

std::string_view statutName(Statut s) {
  switch (s) {
    case Statut::NEW:
      return "new";
    case Statut::DELIVERED:
      return "delivered";
    case Statut::LB:
      return "lb";
    case Statut::INVALID:
      return "invalid";
    case Statut::REJECTED:
      return "rejected";
  }
  KJ_UNREACHABLE;
}

std::string_view passName(PassKind p) {
  switch (p) {
    case PassKind::FRESH:
      return "fresh";
    case PassKind::FRESH_FALLBACK:
      return "fresh_fallback";
    case PassKind::LB:
      return "lb";
    case PassKind::LB_FALLBACK:
      return "lb_fallback";
  }
  KJ_UNREACHABLE;
}

}  // namespace rdz
