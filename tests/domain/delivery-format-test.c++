// What clients receive (SPEC §6): the CSV of each entity byte for byte, attachment names and the
// email templates.
#include "daemon/domain/delivery-format.h"

#include <gtest/gtest.h>

#include <set>

#include "daemon/domain/csv.h"

namespace rdz {
namespace {

constexpr char BOM[] = "\xEF\xBB\xBF";

Lead lead(std::string nom, std::string prenom, std::string e164, std::string email,
          std::string codePostal, std::string ville, TriState proprietaire,
          TypeLogement typeLogement) {
  Lead l;
  l.nom = std::move(nom);
  l.prenom = std::move(prenom);
  l.telephone = "as submitted";
  l.telephoneE164 = std::move(e164);
  l.email = std::move(email);
  l.codePostal = std::move(codePostal);
  l.ville = std::move(ville);
  l.proprietaire = proprietaire;
  l.typeLogement = typeLogement;
  return l;
}

// A separator, quotes and a line break in cells; accents; an overseas number; every combination
// of proprietaire and type_logement that changes a cell.
std::vector<Lead> sampleLeads() {
  return {
      lead("Dupont; fils", "Jean \"Jeannot\"", "+33612345678", "jean@exemple.fr", "75011",
           "Paris\r\nCedex 11", TriState::OUI, TypeLogement::MAISON),
      lead("Hoarau", "Hélène", "+262692123456", "", "97400", "Saint-Denis", TriState::OUI,
           TypeLogement::APPARTEMENT),
      lead("Lefèvre", "Zoé", "+33145678901", "zoe@exemple.fr", "69003", "Lyon", TriState::UNKNOWN,
           TypeLogement::MAISON),
      lead("Çelik", "Ana", "+33712345678", "ana@exemple.fr", "13001", "Marseille", TriState::NON,
           TypeLogement::UNKNOWN),
  };
}

TEST(RenderCsv, Zr7ByteForByte) {
  EXPECT_EQ(renderCsv(Entity::ZR7, sampleLeads()),
            "\xEF\xBB\xBF"
            "nom;prenom;telephone;email;code_postal;ville;proprietaire_maison\r\n"
            "\"Dupont; fils\";\"Jean \"\"Jeannot\"\"\";0612345678;jean@exemple.fr;75011;"
            "\"Paris\r\nCedex 11\";oui\r\n"
            "Hoarau;Hélène;0692123456;;97400;Saint-Denis;non\r\n"
            "Lefèvre;Zoé;0145678901;zoe@exemple.fr;69003;Lyon;non\r\n"
            "Çelik;Ana;0712345678;ana@exemple.fr;13001;Marseille;non\r\n");
}

TEST(RenderCsv, MdlByteForByte) {
  EXPECT_EQ(renderCsv(Entity::MDL, sampleLeads()),
            "\xEF\xBB\xBF"
            "nom;prenom;telephone;email;code_postal;ville;proprietaire;type_logement\r\n"
            "\"Dupont; fils\";\"Jean \"\"Jeannot\"\"\";0612345678;jean@exemple.fr;75011;"
            "\"Paris\r\nCedex 11\";oui;maison\r\n"
            "Hoarau;Hélène;0692123456;;97400;Saint-Denis;oui;appartement\r\n"
            "Lefèvre;Zoé;0145678901;zoe@exemple.fr;69003;Lyon;;maison\r\n"
            "Çelik;Ana;0712345678;ana@exemple.fr;13001;Marseille;non;\r\n");
}

TEST(RenderCsv, NoLeadsIsBomAndHeader) {
  EXPECT_EQ(
      renderCsv(Entity::ZR7, {}),
      std::string(BOM) + "nom;prenom;telephone;email;code_postal;ville;proprietaire_maison\r\n");
  EXPECT_EQ(renderCsv(Entity::MDL, {}),
            std::string(BOM) +
                "nom;prenom;telephone;email;code_postal;ville;proprietaire;type_logement\r\n");
}

TEST(RenderCsv, BomOnceAndNoSepLine) {
  for (Entity e : ALL_ENTITIES) {
    std::string csv = renderCsv(e, sampleLeads());
    EXPECT_EQ(csv.rfind(BOM), 0u) << entityName(e);
    EXPECT_EQ(csv.find("sep="), std::string::npos) << entityName(e);
    EXPECT_EQ(csv.find("TRUE"), std::string::npos) << entityName(e);
    EXPECT_EQ(csv.find("FALSE"), std::string::npos) << entityName(e);
  }
}

TEST(RenderCsv, ParsesBackToTheSameCells) {
  for (Entity e : ALL_ENTITIES) {
    std::vector<Lead> leads = sampleLeads();
    std::vector<CsvRow> rows = parseCsv(renderCsv(e, leads));
    ASSERT_EQ(rows.size(), leads.size() + 1) << entityName(e);
    for (size_t i = 0; i < leads.size(); ++i) {
      CsvRow expected;
      for (auto& column : csvColumns(e, leads[i])) expected.push_back(column.second);
      EXPECT_EQ(rows[i + 1], expected) << entityName(e) << " row " << i;
    }
    EXPECT_EQ(rows[1][0], "Dupont; fils");
    EXPECT_EQ(rows[1][1], "Jean \"Jeannot\"");
    EXPECT_EQ(rows[1][5], "Paris\r\nCedex 11");
  }
}

TEST(RenderCsv, ANumberThatDidNotNormaliseGoesAsSubmitted) {
  Lead l = lead("X", "Y", "", "", "75001", "Paris", TriState::NON, TypeLogement::MAISON);
  l.telephone = "06 12";
  EXPECT_EQ(csvColumns(Entity::ZR7, l)[2],
            (std::pair<std::string, std::string>{"telephone", "06 12"}));
}

TEST(CsvColumns, NamesAndValuesPerEntity) {
  Lead l = sampleLeads()[1];
  using Columns = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(csvColumns(Entity::ZR7, l), (Columns{{"nom", "Hoarau"},
                                                 {"prenom", "Hélène"},
                                                 {"telephone", "0692123456"},
                                                 {"email", ""},
                                                 {"code_postal", "97400"},
                                                 {"ville", "Saint-Denis"},
                                                 {"proprietaire_maison", "non"}}));
  EXPECT_EQ(csvColumns(Entity::MDL, l), (Columns{{"nom", "Hoarau"},
                                                 {"prenom", "Hélène"},
                                                 {"telephone", "0692123456"},
                                                 {"email", ""},
                                                 {"code_postal", "97400"},
                                                 {"ville", "Saint-Denis"},
                                                 {"proprietaire", "oui"},
                                                 {"type_logement", "appartement"}}));
}

TEST(CsvColumns, ProprietaireMaisonNeedsBoth) {
  struct Case {
    TriState proprietaire;
    TypeLogement type;
    const char* expected;
  };
  for (Case c : {Case{TriState::OUI, TypeLogement::MAISON, "oui"},
                 Case{TriState::OUI, TypeLogement::APPARTEMENT, "non"},
                 Case{TriState::OUI, TypeLogement::UNKNOWN, "non"},
                 Case{TriState::NON, TypeLogement::MAISON, "non"},
                 Case{TriState::UNKNOWN, TypeLogement::MAISON, "non"},
                 Case{TriState::UNKNOWN, TypeLogement::UNKNOWN, "non"}}) {
    Lead l;
    l.proprietaire = c.proprietaire;
    l.typeLogement = c.type;
    EXPECT_EQ(csvColumns(Entity::ZR7, l).back().second, c.expected);
  }
}

TEST(AttachmentName, FreshAndLb) {
  EXPECT_EQ(attachmentName(Entity::ZR7, "solaire-sud", "PV", "2026-11-25", false),
            "ZR7_solaire-sud_PV_2026-11-25.csv");
  EXPECT_EQ(attachmentName(Entity::ZR7, "solaire-sud", "PV", "2026-11-25", true),
            "ZR7_solaire-sud_PV_2026-11-25_LB.csv");
  EXPECT_EQ(attachmentName(Entity::MDL, "isol-ouest", "ITE", "2027-01-04", true),
            "MDL_isol-ouest_ITE_2027-01-04_LB.csv");
}

TEST(AttachmentName, WithACommande) {
  EXPECT_EQ(attachmentName(Entity::MDL, "c3", "PAC", "2026-07-03", false, "C000004"),
            "MDL_c3_PAC_2026-07-03_C000004.csv");
  EXPECT_EQ(attachmentName(Entity::MDL, "c3", "PAC", "2026-07-03", true, "C000004"),
            "MDL_c3_PAC_2026-07-03_C000004_LB.csv");
}

// SPEC §6: two commandes of one produit in a batch (PV in two zones) add their ids; a produit with
// one commande keeps the usual name, fresh and LB alike.
TEST(AttachmentNames, CommandesSharingAProduitAddTheirIdsOthersKeepTheUsualName) {
  std::vector<AttachmentPart> parts = {{"C000001", "PV", false},
                                       {"C000002", "PV", false},
                                       {"C000003", "PAC", false},
                                       {"C000001", "PV", true},
                                       {"C000002", "PV", true},
                                       {"C000003", "PAC", true}};
  auto names = attachmentNames(Entity::ZR7, "solaire", "2026-11-25", parts);
  EXPECT_EQ(names, (std::vector<std::string>{"ZR7_solaire_PV_2026-11-25_C000001.csv",
                                             "ZR7_solaire_PV_2026-11-25_C000002.csv",
                                             "ZR7_solaire_PAC_2026-11-25.csv",
                                             "ZR7_solaire_PV_2026-11-25_C000001_LB.csv",
                                             "ZR7_solaire_PV_2026-11-25_C000002_LB.csv",
                                             "ZR7_solaire_PAC_2026-11-25_LB.csv"}));
  std::set<std::string> distinct(names.begin(), names.end());
  EXPECT_EQ(distinct.size(), names.size());

  // One commande only: exactly the names of before.
  EXPECT_EQ(attachmentNames(Entity::MDL, "isol", "2026-11-25",
                            {{"C000009", "ITE", false}, {"C000009", "ITE", true}}),
            (std::vector<std::string>{"MDL_isol_ITE_2026-11-25.csv",
                                      "MDL_isol_ITE_2026-11-25_LB.csv"}));
}

// SPEC §6: a lead's text is data, never a formula. The form's `nom==HYPERLINK(...)` and
// `ville=@SUM(...)` arrive in the CSV with a leading quote; the API's JSON keeps them as sent.
TEST(RenderCsv, FormulasAreNeutralised) {
  Lead l = lead("=HYPERLINK(\"http://x\";\"clic\")", "+33", "+33612345678", "-1@x.fr",
                "33000", "@SUM(A1:A9)", TriState::OUI, TypeLogement::MAISON);
  l.prenom = "\tTab";
  std::string csv = renderCsv(Entity::ZR7, {l});
  auto rows = parseCsv(csv.substr(UTF8_BOM.size()));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][0], "'=HYPERLINK(\"http://x\";\"clic\")");
  EXPECT_EQ(rows[1][1], "'\tTab");
  EXPECT_EQ(rows[1][2], "0612345678");
  EXPECT_EQ(rows[1][3], "'-1@x.fr");
  EXPECT_EQ(rows[1][5], "'@SUM(A1:A9)");
  EXPECT_EQ(csvColumns(Entity::ZR7, l)[5].second, "@SUM(A1:A9)");  // the API's value
}

TEST(SpreadsheetSafe, OnlyTheSixLeadingCharacters) {
  for (std::string c : {"=", "+", "-", "@", "\t", "\r"}) {
    EXPECT_EQ(spreadsheetSafe(c + "x"), "'" + c + "x");
  }
  for (std::string c : {"", "x", "'=x", " =x", "0612", "a=b", "É"}) EXPECT_EQ(spreadsheetSafe(c), c);
}

TEST(AttachmentName, PathSeparatorsAndControlCharactersAreReplaced) {
  EXPECT_EQ(attachmentName(Entity::MDL, "a/b\\c", "P:V", "2026-11-25\r\n", false),
            "MDL_a-b-c_P-V_2026-11-25--.csv");
}

TEST(FillTemplate, ReplacesEveryPlaceholder) {
  EXPECT_EQ(fillTemplate("{client}: {nb} le {date}; encore {client} et {nb}", "Solaire Sud",
                         "2026-11-25", 12),
            "Solaire Sud: 12 le 2026-11-25; encore Solaire Sud et 12");
  EXPECT_EQ(fillTemplate("", "c", "d", 0), "");
  EXPECT_EQ(fillTemplate("{nb}", "c", "d", 0), "0");
}

TEST(FillTemplate, LeavesOtherBracesAndDoesNotReexpand) {
  EXPECT_EQ(fillTemplate("{autre} {client", "c", "d", 1), "{autre} {client");
  EXPECT_EQ(fillTemplate("{client} {date}", "x{date}", "D", 1), "x{date} D");
}

TEST(DefaultTemplates, FrenchPerEntity) {
  for (Entity e : ALL_ENTITIES) {
    MailTemplates t = defaultTemplates(e);
    std::string name(entityName(e));
    EXPECT_EQ(t.subject, name + " — vos leads du {date} ({nb})");
    for (const char* placeholder : {"{client}", "{date}", "{nb}"}) {
      EXPECT_NE(t.body.find(placeholder), std::string::npos) << name << " " << placeholder;
    }
    EXPECT_NE(t.body.find("Bonjour"), std::string::npos);
    EXPECT_NE(t.body.find("ci-joint"), std::string::npos);
    EXPECT_NE(t.body.find("L'équipe " + name), std::string::npos);
  }
  EXPECT_EQ(fillTemplate(defaultTemplates(Entity::MDL).subject, "Isol Ouest", "2026-11-25", 3),
            "MDL — vos leads du 2026-11-25 (3)");
  std::string body =
      fillTemplate(defaultTemplates(Entity::ZR7).body, "Solaire Sud", "2026-11-25", 7);
  EXPECT_EQ(body.rfind("Bonjour Solaire Sud,\n", 0), 0u);
  EXPECT_NE(body.find("vos leads du 2026-11-25 (nombre de leads : 7)"), std::string::npos);
  EXPECT_EQ(body.find('{'), std::string::npos);
}

}  // namespace
}  // namespace rdz
