#include "client/explain-text.h"

#include <capnp/schema.h>
#include <fmt/format.h>

#include <array>

#include "daemon/domain/labels.h"

namespace rdz {

namespace {

using Code = schema::Explanation::Raison::Code;

// How the sentence counts a reason: its French label (daemon/domain/labels.h), said of a commande.
std::string phrase(Code code) { return labelOrCode("raison", reasonCodeName(code)); }

}  // namespace

std::string reasonCodeName(schema::Explanation::Raison::Code code) {
  auto enumerant = capnp::Schema::from<Code>().getEnumerants()[static_cast<unsigned>(code)];
  for (auto annotation : enumerant.getProto().getAnnotations()) {
    if (annotation.getId() == 0xfa5b1fd61c2e7c3dull) {  // $Json.name
      return annotation.getValue().getText().cStr();
    }
  }
  return enumerant.getProto().getName().cStr();
}

std::string explanationSentence(schema::Explanation::Reader x, bool dryRun) {
  std::string lead = x.getLead().cStr();
  std::string run = fmt::format("au run du {}{}", x.getDate().cStr(),
                                dryRun ? " (simulation: ce run n'a pas encore eu lieu)" : "");
  auto raisons = x.getRaisons();
  if (x.getResultat() == schema::Explanation::Resultat::LIVRE) {
    std::string client;
    for (auto r : raisons) {
      if (r.getCommande() == x.getCommande()) client = r.getClient().cStr();
    }
    return fmt::format("Le lead {} {} à la commande {}{} {}.", lead,
                       dryRun ? "serait livré" : "a été livré", x.getCommande().cStr(),
                       client.empty() ? "" : " (client " + client + ")", run);
  }
  if (raisons.size() == 1 && raisons[0].getRaison() == Code::HORS_RUN &&
      raisons[0].getCommande().size() == 0) {
    std::string in = fmt::format("dans le run du {}{}", x.getDate().cStr(),
                                 dryRun ? " (simulation: ce run n'a pas encore eu lieu)" : "");
    return fmt::format("Le lead {} {} pas {}: {}.", lead, dryRun ? "ne serait" : "n'était", in,
                       raisons[0].getDetail().cStr());
  }
  if (raisons.size() == 0) {
    return fmt::format("Le lead {} {} livré {}: aucune commande de son produit.", lead,
                       dryRun ? "ne serait pas" : "n'a pas été", run);
  }
  // Counts by reason, in the order of the codes.
  std::array<uint32_t, 13> counts{};
  for (auto r : raisons) {
    auto i = static_cast<size_t>(r.getRaison());
    if (i < counts.size()) ++counts[i];
  }
  std::string why;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    why += fmt::format("{}{} ({})", why.empty() ? "" : ", ", phrase(static_cast<Code>(i)),
                       counts[i]);
  }
  return fmt::format("Le lead {} {} à aucune de ses {} commandes {}: {}.", lead,
                     dryRun ? "ne serait livré" : "n'a été livré", raisons.size(), run, why);
}

}  // namespace rdz
