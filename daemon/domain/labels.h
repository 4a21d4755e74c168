// French labels of RDZ's coded values, for people (SPEC §8.4: the console is in French). The codes
// stay what machines read — JSON (`rdzctl --json`), rdzctl's text columns, CSV, the schema — and
// this is the one table that says them in French: the console's pages show every coded value
// through it, and rdzd's French sentences (history details, the explain sentence) use it too, so
// a statut, a passe or a reason reads the same everywhere a person reads it.
//
// Keyed by the JSON name of the field that holds the code (client/present.h's cells carry it) and
// the code as JSON writes it: ("statut", "delivered") -> "livré", ("pass", "fresh_fallback") ->
// "fresh en fallback". Every value of every enum the schema and the domain define has a label
// (tests/domain/labels-test.c++ walks them).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "daemon/domain/types.h"

namespace rdz {

// The French label of `code` in the field named `field`, or nullopt when that field holds no
// code of a labelled concept or `code` is not one of its codes.
std::optional<std::string_view> frenchLabel(std::string_view field, std::string_view code);

// frenchLabel(field, code), else `code` itself (a record written by a newer rdzd, a legacy name).
std::string labelOrCode(std::string_view field, std::string_view code);

// The labels of the domain's own enums (the same table).
std::string_view statutLabel(Statut s);      // nouveau, livré, LB, invalide, rejeté
std::string_view passLabel(PassKind p);      // fresh, fresh en fallback, LB, LB en fallback
// A rejection reason (after-delivery.h rejectionReasons(), or `efface`): faux numéro, …
std::string rejectionReasonLabel(std::string_view reason);

}  // namespace rdz
