#include "client/synthetic.h"

#include <fmt/format.h>

namespace rdz {

namespace {
uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

Submission syntheticLead(uint64_t seed, uint32_t stream, uint32_t n) {
  static const char* NOMS[] = {"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard",
                               "Petit", "Durand", "Leroy", "Moreau", "Lefèvre", "Garçon"};
  static const char* PRENOMS[] = {"Jean", "Marie", "Pierre", "Sophie", "Luc", "Élodie",
                                  "Hélène", "François", "Zoé", "Noël"};
  static const char* PRODUITS[] = {"PV", "PAC", "ITE"};
  static const char* CPS[] = {"33000", "40100", "75011", "69003", "13001", "20000", "97400",
                              "44000", "31000", "59000"};
  uint64_t h = mix(seed ^ mix((uint64_t{stream} << 32) | n));
  // 06 + 8 digits: unique per (stream, n) for stream < 100 and n < 1e6.
  std::string phone = fmt::format("06{:02}{:06}", stream % 100, n % 1000000);
  return {
      {"produit", PRODUITS[h % 3]},
      {"nom", NOMS[(h >> 8) % 12]},
      {"prenom", PRENOMS[(h >> 16) % 10]},
      {"telephone", phone},
      {"email", fmt::format("client{}.{}@exemple.fr", stream, n)},
      {"code_postal", CPS[(h >> 24) % 10]},
      {"ville", "Ville de test"},
      {"proprietaire", (h >> 32) % 2 ? "oui" : "non"},
      {"type_logement", (h >> 33) % 2 ? "maison" : "appartement"},
      {"consentement", "true"},
      {"consentement_texte",
       "J'accepte d'être recontacté par téléphone au sujet de mon projet de rénovation "
       "énergétique par les partenaires du site."},
      {"page_url", "https://exemple.fr/devis/solaire?etape=3"},
      {"ip", fmt::format("192.0.2.{}", h % 250 + 1)},
      {"user_agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"},
      {"utm_source", "google"},
      {"utm_medium", "cpc"},
      {"utm_campaign", "renov-2026"},
  };
}

std::string syntheticKey(uint64_t seed, uint32_t stream, uint32_t n) {
  return fmt::format("bench-{}-{}-{}", seed, stream, n);
}

}  // namespace rdz
