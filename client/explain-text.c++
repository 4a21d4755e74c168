#include "client/explain-text.h"

#include <capnp/schema.h>
#include <fmt/format.h>

#include <array>

namespace rdz {

namespace {

using Code = schema::Explanation::Raison::Code;

// How the sentence counts a reason.
const char* phrase(Code code) {
  switch (code) {
    case Code::ATTRIBUE: return "attribuée";
    case Code::DEPARTEMENT: return "hors de son département";
    case Code::INACTIF: return "inactive";
    case Code::JOUR: return "ne livre pas ce jour-là";
    case Code::PERIODE: return "hors de sa période";
    case Code::QUOTA_ATTEINT: return "quota de la semaine atteint";
    case Code::QUOTA_JOUR_ATTEINT: return "quota du jour atteint";
    case Code::LB_MAX_ATTEINT: return "part de LB atteinte";
    case Code::PAS_DE_FALLBACK: return "sans repli";
    case Code::DOUBLON_CLIENT: return "client l'ayant déjà reçu";
    case Code::OPPOSITION: return "opposition";
    case Code::DEVANCE: return "prise par une autre commande";
    case Code::HORS_RUN: return "hors du run";
  }
  return "?";
}

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
