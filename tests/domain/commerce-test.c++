// Clients, commandes and produits (commerce.h, SPEC §4): each rule refuses with its French
// message and nothing else — the exception's description is what rdzctl prints and the console
// shows, so no KJ condition or "; name = value" may trail it.
#include "daemon/domain/commerce.h"

#include <gtest/gtest.h>
#include <kj/exception.h>

#include <functional>
#include <string>

namespace rdz {
namespace {

// The description of what `f` threw ("" when it did not throw).
std::string refusal(std::function<void()> f) {
  std::string description;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { f(); })) {
    EXPECT_EQ(e->getType(), kj::Exception::Type::FAILED);
    description = e->getDescription().cStr();
  }
  return description;
}

Client goodClient() {
  Client c;
  c.entity = Entity::ZR7;
  c.nom = "Solaire Sud";
  c.emails = {"commandes@solaire-sud.example"};
  return c;
}

Commande goodCommande() {
  Commande c;
  c.entity = Entity::ZR7;
  c.client = "solaire-sud";
  c.produit = "pv";
  c.quotaSemaine = 20;
  c.departements = {"33", "1"};
  return c;
}

const std::vector<std::string> CATALOGUE = {"PV", "PAC", "ITE"};

std::string commandeRefusal(std::function<void(Commande&)> change) {
  Commande c = goodCommande();
  change(c);
  return refusal([&]() { checkCommande(c, CATALOGUE); });
}

std::string clientRefusal(std::function<void(Client&)> change) {
  Client c = goodClient();
  change(c);
  return refusal([&]() { checkClient(c); });
}

TEST(Commerce, AGoodClientAndCommandeAreNormalised) {
  Client client = goodClient();
  client.emails = {" Commandes@Solaire-Sud.example "};
  EXPECT_EQ(refusal([&]() { checkClient(client); }), "");
  EXPECT_EQ(client.id, "solaire-sud");
  EXPECT_EQ(client.emails, std::vector<std::string>{"commandes@solaire-sud.example"});
  Commande commande = goodCommande();
  EXPECT_EQ(refusal([&]() { checkCommande(commande, CATALOGUE); }), "");
  EXPECT_EQ(commande.produit, "PV");
  EXPECT_EQ(commande.departements, (std::vector<std::string>{"33", "01"}));
}

TEST(Commerce, CommandeRefusalsAreFrenchMessagesAlone) {
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.quotaSemaine = 0; }),
            "commande : quota_semaine doit être entre 1 et 100000");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.quotaSemaine = 100001; }),
            "commande : quota_semaine doit être entre 1 et 100000");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.quotaJour = 100001; }),
            "commande : quota_jour doit être entre 0 et 100000 (0 : pas de plafond par jour)");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.priorite = 0; }),
            "commande : priorite doit être entre 1 et 9");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.lbMaxPct = 101; }),
            "commande : lb_max_pct doit être entre 0 et 100");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.client = ""; }),
            "commande : le client est obligatoire");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.produit = " "; }),
            "commande : le produit est obligatoire");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.produit = "bal"; }),
            "commande : le produit « BAL » n'est pas au catalogue de ZR7");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.departements = {"33", "99"}; }),
            "commande : département inconnu : « 99 »");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.jours = {"lun", "lundi"}; }),
            "commande : jour inconnu : « lundi » (jours : lun,mar,mer,jeu,ven,sam,dim)");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.jours = {" "}; }),
            "commande : au moins un jour de livraison est obligatoire");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.debut = "01/12/2026"; }),
            "commande : debut doit être une date AAAA-MM-JJ");
  EXPECT_EQ(commandeRefusal([](Commande& c) { c.fin = "2026-13-01"; }),
            "commande : fin doit être une date AAAA-MM-JJ");
  EXPECT_EQ(commandeRefusal([](Commande& c) {
              c.debut = "2026-12-02";
              c.fin = "2026-12-01";
            }),
            "commande : debut est après fin");
}

TEST(Commerce, ClientRefusalsAreFrenchMessagesAlone) {
  EXPECT_EQ(clientRefusal([](Client& c) { c.nom = "  "; }), "client : le nom est obligatoire");
  EXPECT_EQ(clientRefusal([](Client& c) { c.nom = std::string(201, 'n'); }),
            "client : le nom dépasse 200 octets");
  EXPECT_EQ(clientRefusal([](Client& c) { c.nom = "Caf\xe9"; }),
            "client : le nom n'est pas en UTF-8");
  EXPECT_EQ(clientRefusal([](Client& c) { c.id = "Solaire Sud"; }),
            "client : l'identifiant doit faire 1 à 64 caractères parmi a-z, 0-9 et « - »");
  EXPECT_EQ(clientRefusal([](Client& c) { c.emails = {}; }),
            "client : au moins une adresse e-mail de livraison est obligatoire");
  EXPECT_EQ(clientRefusal([](Client& c) { c.emails = {"a@b.fr", "pas-une-adresse"}; }),
            "client : adresse e-mail invalide : « pas-une-adresse »");
  EXPECT_EQ(clientRefusal([](Client& c) { c.cc = {"x@"}; }),
            "client : adresse e-mail en copie (cc) invalide : « x@ »");
  EXPECT_EQ(clientRefusal([](Client& c) {
              c.methode = Methode::API;
              c.apiUrl = "ftp://x";
            }),
            "client : la méthode api demande une api_url en http:// ou https://");
  EXPECT_EQ(clientRefusal([](Client& c) { c.apiHeader = "sans deux-points"; }),
            "client : api_header doit être de la forme « Nom: valeur »");
  EXPECT_EQ(clientRefusal([](Client& c) { c.apiHeader = "X-Cle: a\nb"; }),
            "client : api_header doit tenir sur une ligne");
}

TEST(Commerce, ProduitAndLookupRefusals) {
  Produit p{Entity::ZR7, "", ""};
  EXPECT_EQ(refusal([&]() { checkProduit(p); }), "produit : le code doit faire 1 à 16 caractères");
  p.code = "BAL-1";
  EXPECT_EQ(refusal([&]() { checkProduit(p); }),
            "produit : le code ne peut contenir que des lettres, des chiffres et « _ »");
  p.code = "bal";
  p.libelle = std::string(201, 'l');
  EXPECT_EQ(refusal([&]() { checkProduit(p); }),
            "produit : le libellé doit être en UTF-8, 200 octets au plus");
  EXPECT_EQ(refusal([]() { refuseUnknownClient("isol-ouest"); }), "client inconnu : isol-ouest");
  EXPECT_EQ(refusal([]() { refuseUnknownCommande("C000009"); }),
            "commande inconnue : C000009");
  EXPECT_EQ(refusal([]() { refuseTakenClientId("acme"); }),
            "client : l'identifiant acme est déjà pris");
}

}  // namespace
}  // namespace rdz
