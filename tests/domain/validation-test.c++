// Validation of lead submissions (SPEC §3.1–3.2): every rule, its problem code, whether it
// blocks, and the few refusals.
#include "daemon/domain/validation.h"

#include <date/date.h>
#include <gtest/gtest.h>
#include <kj/exception.h>

#include <algorithm>

#include "daemon/domain/clock.h"
#include "daemon/domain/types.h"

namespace rdz {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// 2026-03-02 10:15:00 UTC (11:15 in Paris).
const Timestamp RECEIVED = Timestamp(date::sys_days(date::year(2026) / 3 / 2).time_since_epoch() +
                                     hours(10) + minutes(15));

ValidationContext context() {
  ValidationContext c;
  c.entity = Entity::MDL;
  c.catalogue = {"PV", "PAC", "ITE"};
  c.receivedAt = RECEIVED;
  return c;
}

// A submission that passes every rule.
Submission good() {
  return {
      {"produit", "PV"},        {"nom", "Dupont"},
      {"prenom", "Marie"},      {"telephone", "06 12 34 56 78"},
      {"code_postal", "75011"}, {"consentement", "oui"},
  };
}

// `submission` with `name` replaced (in place) or appended.
Submission with(Submission submission, std::string name, std::string value) {
  for (Field& f : submission) {
    if (f.name == name) {
      f.value = std::move(value);
      return submission;
    }
  }
  submission.push_back({std::move(name), std::move(value)});
  return submission;
}

Submission without(Submission submission, std::string_view name) {
  submission.erase(std::remove_if(submission.begin(), submission.end(),
                                  [&](const Field& f) { return f.name == name; }),
                   submission.end());
  return submission;
}

Lead validate(const Submission& submission) { return validateSubmission(submission, context()); }

using Problems = std::vector<std::string>;

// Runs validation expecting a refusal; returns the exception's description.
std::string refusal(const Submission& submission) {
  try {
    validate(submission);
  } catch (const kj::Exception& e) {
    return std::string(e.getDescription().cStr());
  }
  ADD_FAILURE() << "submission was not refused";
  return "";
}

// ---------------------------------------------------------------------------------------------
// The happy path

TEST(ValidateSubmission, GoodSubmissionIsNewWithEveryFieldStored) {
  Submission s = good();
  s.push_back({"email", "marie.dupont@example.fr"});
  s.push_back({"ville", "Paris"});
  s.push_back({"proprietaire", "true"});
  s.push_back({"type_logement", "maison"});
  s.push_back({"consentement_texte", "J'accepte d'être rappelé."});
  s.push_back({"consentement_le", "2026-03-02T11:14:00+01:00"});
  s.push_back({"page_url", "https://example.fr/pv"});
  s.push_back({"ip", "203.0.113.7"});
  s.push_back({"user_agent", "Mozilla/5.0"});
  s.push_back({"source", "google"});
  s.push_back({"utm_source", "gads"});
  s.push_back({"utm_medium", "cpc"});
  s.push_back({"utm_campaign", "printemps"});

  Lead lead = validate(s);
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_EQ(lead.problemes, Problems{});
  EXPECT_EQ(lead.id, "");
  EXPECT_EQ(lead.entity, Entity::MDL);
  EXPECT_EQ(lead.produit, "PV");
  EXPECT_EQ(lead.nom, "Dupont");
  EXPECT_EQ(lead.prenom, "Marie");
  EXPECT_EQ(lead.telephone, "06 12 34 56 78");
  EXPECT_EQ(lead.telephoneE164, "+33612345678");
  EXPECT_EQ(lead.email, "marie.dupont@example.fr");
  EXPECT_EQ(lead.codePostal, "75011");
  EXPECT_EQ(lead.departement, "75");
  EXPECT_EQ(lead.ville, "Paris");
  EXPECT_EQ(lead.proprietaire, TriState::OUI);
  EXPECT_EQ(lead.typeLogement, TypeLogement::MAISON);
  EXPECT_TRUE(lead.consentement);
  EXPECT_EQ(lead.consentementTexte, "J'accepte d'être rappelé.");
  EXPECT_EQ(lead.consentementLe, RECEIVED - minutes(1));
  EXPECT_EQ(lead.pageUrl, "https://example.fr/pv");
  EXPECT_EQ(lead.ip, "203.0.113.7");
  EXPECT_EQ(lead.userAgent, "Mozilla/5.0");
  EXPECT_EQ(lead.source, "google");
  EXPECT_EQ(lead.utmSource, "gads");
  EXPECT_EQ(lead.utmMedium, "cpc");
  EXPECT_EQ(lead.utmCampaign, "printemps");
  EXPECT_EQ(lead.recuLe, RECEIVED);
  EXPECT_EQ(lead.doublonDe, "");
}

TEST(ValidateSubmission, EntityComesFromContext) {
  ValidationContext c = context();
  c.entity = Entity::ZR7;
  EXPECT_EQ(validateSubmission(good(), c).entity, Entity::ZR7);
}

TEST(ValidateSubmission, OptionalFieldsAbsentLeaveDefaults) {
  Lead lead = validate(good());
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_EQ(lead.email, "");
  EXPECT_EQ(lead.proprietaire, TriState::UNKNOWN);
  EXPECT_EQ(lead.typeLogement, TypeLogement::UNKNOWN);
  EXPECT_EQ(lead.consentementLe, RECEIVED);  // SPEC: default is the reception time
}

// ---------------------------------------------------------------------------------------------
// Trimming, duplicates, empty values

TEST(ValidateSubmission, TextValuesAreTrimmedIncludingNoBreakSpaces) {
  Submission s = good();
  s = with(s, "nom", " \t Dupont\xC2\xA0");
  s = with(s, "prenom", "\xE2\x80\xAFMarie-Anne \r\n");
  s = with(s, "code_postal", " 75011 ");
  s = with(s, "produit", " PV ");
  s = with(s, "telephone",
           "\xC2\xA0"
           "06 12 34 56 78 ");
  Lead lead = validate(s);
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_EQ(lead.nom, "Dupont");
  EXPECT_EQ(lead.prenom, "Marie-Anne");
  EXPECT_EQ(lead.codePostal, "75011");
  EXPECT_EQ(lead.produit, "PV");
  EXPECT_EQ(lead.telephone, "06 12 34 56 78");
  EXPECT_EQ(lead.telephoneE164, "+33612345678");
}

TEST(ValidateSubmission, FieldNamesAreTrimmedButCaseSensitive) {
  Lead lead = validate(with(without(good(), "nom"), " nom ", "Martin"));
  EXPECT_EQ(lead.nom, "Martin");
  EXPECT_EQ(lead.statut, Statut::NEW);

  lead = validate(with(without(good(), "nom"), "Nom", "Martin"));
  EXPECT_EQ(lead.nom, "");
  EXPECT_EQ(lead.problemes, (Problems{"nom.missing", "Nom.unexpected"}));
  EXPECT_EQ(lead.statut, Statut::INVALID);
}

TEST(ValidateSubmission, LastOccurrenceOfAFieldWins) {
  Submission s = good();
  s.push_back({"nom", "Durand"});
  s.push_back({"telephone", "not a phone"});
  s.push_back({"telephone", "07 00 00 00 01"});
  Lead lead = validate(s);
  EXPECT_EQ(lead.nom, "Durand");
  EXPECT_EQ(lead.telephone, "07 00 00 00 01");
  EXPECT_EQ(lead.telephoneE164, "+33700000001");
  EXPECT_EQ(lead.statut, Statut::NEW);

  // And the other way round: a good value followed by an empty one is empty.
  s = good();
  s.push_back({"nom", "   "});
  lead = validate(s);
  EXPECT_EQ(lead.problemes, Problems{"nom.missing"});
}

TEST(ValidateSubmission, EmptyValuesCountAsAbsent) {
  Submission s = good();
  s = with(s, "email", "");
  s = with(s, "ville", "  ");
  s = with(s, "proprietaire", "");
  s = with(s, "type_logement", " ");
  s = with(s, "consentement_le", "");
  s = with(s, "recu_le", "");
  Lead lead = validate(s);
  EXPECT_EQ(lead.problemes, Problems{});
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_EQ(lead.consentementLe, RECEIVED);
}

// ---------------------------------------------------------------------------------------------
// Required fields: each missing one is a blocking problem

TEST(ValidateSubmission, EachRequiredFieldMissingIsBlocking) {
  struct Case {
    const char* field;
    const char* code;
  } cases[] = {
      {"produit", "produit.missing"},         {"nom", "nom.missing"},
      {"prenom", "prenom.missing"},           {"telephone", "telephone.missing"},
      {"code_postal", "code_postal.missing"}, {"consentement", "consentement.absent"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    Lead lead = validate(without(good(), c.field));
    EXPECT_EQ(lead.problemes, Problems{c.code});
    EXPECT_EQ(lead.statut, Statut::INVALID);
    EXPECT_TRUE(isBlockingProblem(c.code));

    // Present but blank is the same as missing.
    lead = validate(with(good(), c.field, " "));
    EXPECT_EQ(lead.problemes, Problems{c.code});
  }
}

TEST(ValidateSubmission, EmptySubmissionIsStoredInvalidWithProblemsInTableOrder) {
  Lead lead = validate({});
  EXPECT_EQ(lead.statut, Statut::INVALID);
  EXPECT_EQ(lead.problemes,
            (Problems{"produit.missing", "nom.missing", "prenom.missing", "telephone.missing",
                      "code_postal.missing", "consentement.absent"}));
  EXPECT_EQ(lead.recuLe, RECEIVED);
}

TEST(ValidateSubmission, ProblemsFollowTableOrderNotSubmissionOrder) {
  Submission s = {
      {"zz", "1"},
      {"utm_source", std::string(201, 'u')},
      {"consentement", "non"},
      {"code_postal", "99000"},
      {"email", "nope"},
      {"telephone", "12345"},
      {"prenom", std::string(101, 'p')},
      {"nom", "Dupont"},
      {"produit", "XYZ"},
      {"aa", "2"},
  };
  Lead lead = validate(s);
  EXPECT_EQ(lead.problemes, (Problems{"produit.unknown", "prenom.too_long", "telephone.invalid",
                                      "email.invalid", "code_postal.invalid", "consentement.absent",
                                      "utm_source.too_long", "zz.unexpected", "aa.unexpected"}));
  EXPECT_EQ(lead.statut, Statut::INVALID);
}

// ---------------------------------------------------------------------------------------------
// produit

TEST(ValidateSubmission, ProduitMatchesCatalogueCaseInsensitivelyAndStoresCatalogueCode) {
  Lead lead = validate(with(good(), "produit", "pac"));
  EXPECT_EQ(lead.produit, "PAC");
  EXPECT_EQ(lead.statut, Statut::NEW);

  lead = validate(with(good(), "produit", "Ite"));
  EXPECT_EQ(lead.produit, "ITE");
}

TEST(ValidateSubmission, ProduitOutsideCatalogueIsBlockingAndKeptAsSubmitted) {
  Lead lead = validate(with(good(), "produit", " Isolation "));
  EXPECT_EQ(lead.problemes, Problems{"produit.unknown"});
  EXPECT_EQ(lead.statut, Statut::INVALID);
  EXPECT_EQ(lead.produit, "Isolation");
}

TEST(ValidateSubmission, CatalogueIsTheEntitys) {
  ValidationContext c = context();
  c.catalogue = {"BOIS"};
  EXPECT_EQ(validateSubmission(good(), c).problemes, Problems{"produit.unknown"});
  EXPECT_EQ(validateSubmission(with(good(), "produit", "bois"), c).produit, "BOIS");
}

// ---------------------------------------------------------------------------------------------
// nom, prenom, ville: byte bounds

TEST(ValidateSubmission, NomAndPrenomOverBoundAreBlockingButKeptWhole) {
  std::string long101(101, 'a');
  Lead lead = validate(with(good(), "nom", long101));
  EXPECT_EQ(lead.problemes, Problems{"nom.too_long"});
  EXPECT_EQ(lead.statut, Statut::INVALID);
  EXPECT_EQ(lead.nom, long101);

  lead = validate(with(good(), "prenom", long101));
  EXPECT_EQ(lead.problemes, Problems{"prenom.too_long"});
  EXPECT_EQ(lead.statut, Statut::INVALID);

  // Exactly at the bound is fine.
  lead = validate(with(good(), "nom", std::string(100, 'a')));
  EXPECT_EQ(lead.statut, Statut::NEW);
}

TEST(ValidateSubmission, BoundsCountBytesNotCharacters) {
  // 50 × "é" is 100 bytes: at the bound. 51 × "é" is 102 bytes: over it.
  std::string e50, e51;
  for (int i = 0; i < 50; ++i) e50 += "é";
  e51 = e50 + "é";
  EXPECT_EQ(validate(with(good(), "nom", e50)).statut, Statut::NEW);
  EXPECT_EQ(validate(with(good(), "nom", e51)).problemes, Problems{"nom.too_long"});
}

TEST(ValidateSubmission, SurroundingSpacesDoNotCountTowardsTheBound) {
  Lead lead = validate(with(good(), "nom", "  " + std::string(100, 'a') + "  "));
  EXPECT_EQ(lead.problemes, Problems{});
  EXPECT_EQ(lead.nom.size(), 100u);
}

TEST(ValidateSubmission, VilleOverBoundIsOnlyAWarning) {
  std::string ville(101, 'v');
  Lead lead = validate(with(good(), "ville", ville));
  EXPECT_EQ(lead.problemes, Problems{"ville.too_long"});
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_EQ(lead.ville, ville);
  EXPECT_FALSE(isBlockingProblem("ville.too_long"));
}

// ---------------------------------------------------------------------------------------------
// telephone

TEST(ValidateSubmission, TelephoneInvalidIsBlockingAndRawKept) {
  Lead lead = validate(with(good(), "telephone", " 12345 "));
  EXPECT_EQ(lead.problemes, Problems{"telephone.invalid"});
  EXPECT_EQ(lead.statut, Statut::INVALID);
  EXPECT_EQ(lead.telephone, "12345");
  EXPECT_EQ(lead.telephoneE164, "");
}

TEST(ValidateSubmission, ForeignTelephoneIsInvalid) {
  Lead lead = validate(with(good(), "telephone", "+44 20 7946 0958"));
  EXPECT_EQ(lead.problemes, Problems{"telephone.invalid"});
  EXPECT_EQ(lead.telephoneE164, "");
}

TEST(ValidateSubmission, OverseasTelephoneIsNormalised) {
  Lead lead = validate(with(good(), "telephone", "0692 12 34 56"));
  EXPECT_EQ(lead.telephoneE164, "+262692123456");
  EXPECT_EQ(lead.statut, Statut::NEW);
}

TEST(ValidateSubmission, TelephoneOverItsBoundIsInvalidNotRefused) {
  std::string phone = "06 12 34 56 78" + std::string(30, ' ') + "9";  // 45 bytes, < 4 × 32
  Lead lead = validate(with(good(), "telephone", phone));
  EXPECT_EQ(lead.problemes, Problems{"telephone.invalid"});
}

// ---------------------------------------------------------------------------------------------
// email (warning only)

TEST(ValidateSubmission, PlausibleEmailsPass) {
  for (const char* email :
       {"a@b.fr", "marie.dupont+pv@example.co.uk", "X_Y-z@sub.domain.fr", "élodie@exemple.fr"}) {
    SCOPED_TRACE(email);
    Lead lead = validate(with(good(), "email", email));
    EXPECT_EQ(lead.problemes, Problems{});
    EXPECT_EQ(lead.email, email);
  }
}

TEST(ValidateSubmission, ImplausibleEmailIsAWarningAndKept) {
  for (const char* email : {"marie", "marie@", "@example.fr", "marie@example", "a@@b.fr",
                            "a@b@c.fr", "marie dupont@example.fr", "marie@exa mple.fr", "marie@.fr",
                            "marie@example.", "marie@example..fr"}) {
    SCOPED_TRACE(email);
    Lead lead = validate(with(good(), "email", email));
    EXPECT_EQ(lead.problemes, Problems{"email.invalid"});
    EXPECT_EQ(lead.statut, Statut::NEW);
    EXPECT_EQ(lead.email, email);
  }
  EXPECT_FALSE(isBlockingProblem("email.invalid"));
}

TEST(ValidateSubmission, EmailOver254BytesIsInvalid) {
  std::string local(64, 'a');
  std::string domain = std::string(186, 'b') + ".fr";  // 64 + 1 + 189 = 254
  EXPECT_EQ(validate(with(good(), "email", local + "@" + domain)).problemes, Problems{});
  EXPECT_EQ(validate(with(good(), "email", local + "@b" + domain)).problemes,
            Problems{"email.invalid"});
}

// ---------------------------------------------------------------------------------------------
// code_postal

TEST(ValidateSubmission, CodePostalGivesDepartement) {
  Lead lead = validate(with(good(), "code_postal", "20090"));
  EXPECT_EQ(lead.departement, "2A");
  lead = validate(with(good(), "code_postal", "97400"));
  EXPECT_EQ(lead.departement, "974");
  EXPECT_EQ(lead.statut, Statut::NEW);
}

TEST(ValidateSubmission, CodePostalInvalidIsBlockingAndKept) {
  for (const char* cp : {"7501", "750111", "75 01", "ABCDE", "00100", "96000", "97000"}) {
    SCOPED_TRACE(cp);
    Lead lead = validate(with(good(), "code_postal", cp));
    EXPECT_EQ(lead.problemes, Problems{"code_postal.invalid"});
    EXPECT_EQ(lead.statut, Statut::INVALID);
    EXPECT_EQ(lead.codePostal, cp);
    EXPECT_EQ(lead.departement, "");
  }
}

// ---------------------------------------------------------------------------------------------
// proprietaire, type_logement (warnings)

TEST(ValidateSubmission, ProprietaireWords) {
  for (auto [word, expected] :
       {std::pair{"oui", TriState::OUI}, std::pair{"NON", TriState::NON},
        std::pair{"1", TriState::OUI}, std::pair{"0", TriState::NON},
        std::pair{"True", TriState::OUI}, std::pair{"false", TriState::NON}}) {
    SCOPED_TRACE(word);
    Lead lead = validate(with(good(), "proprietaire", word));
    EXPECT_EQ(lead.proprietaire, expected);
    EXPECT_EQ(lead.problemes, Problems{});
  }
  Lead lead = validate(with(good(), "proprietaire", "locataire"));
  EXPECT_EQ(lead.problemes, Problems{"proprietaire.invalid"});
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_EQ(lead.proprietaire, TriState::UNKNOWN);
}

TEST(ValidateSubmission, TypeLogementWords) {
  EXPECT_EQ(validate(with(good(), "type_logement", "Maison")).typeLogement, TypeLogement::MAISON);
  EXPECT_EQ(validate(with(good(), "type_logement", "APPARTEMENT")).typeLogement,
            TypeLogement::APPARTEMENT);
  Lead lead = validate(with(good(), "type_logement", "chateau"));
  EXPECT_EQ(lead.problemes, Problems{"type_logement.invalid"});
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_EQ(lead.typeLogement, TypeLogement::UNKNOWN);
}

// ---------------------------------------------------------------------------------------------
// consentement

TEST(ValidateSubmission, ConsentementFalseIsAbsent) {
  for (const char* no : {"non", "false", "0", "NON"}) {
    SCOPED_TRACE(no);
    Lead lead = validate(with(good(), "consentement", no));
    EXPECT_EQ(lead.problemes, Problems{"consentement.absent"});
    EXPECT_EQ(lead.statut, Statut::INVALID);
    EXPECT_FALSE(lead.consentement);
  }
}

TEST(ValidateSubmission, ConsentementNotABoolWordIsInvalid) {
  Lead lead = validate(with(good(), "consentement", "on"));
  EXPECT_EQ(lead.problemes, Problems{"consentement.invalid"});
  EXPECT_EQ(lead.statut, Statut::INVALID);
  EXPECT_FALSE(lead.consentement);
}

TEST(ValidateSubmission, ConsentementTrueWords) {
  for (const char* yes : {"oui", "Oui", "true", "TRUE", "1", " 1 "}) {
    SCOPED_TRACE(yes);
    Lead lead = validate(with(good(), "consentement", yes));
    EXPECT_TRUE(lead.consentement);
    EXPECT_EQ(lead.statut, Statut::NEW);
  }
}

TEST(ValidateSubmission, ConsentementLeParsedOrDefaulted) {
  Lead lead = validate(with(good(), "consentement_le", "2026-03-01T08:00:00Z"));
  EXPECT_EQ(lead.consentementLe,
            Timestamp(date::sys_days(date::year(2026) / 3 / 1).time_since_epoch() + hours(8)));
  EXPECT_EQ(lead.problemes, Problems{});

  lead = validate(with(good(), "consentement_le", "hier soir"));
  EXPECT_EQ(lead.problemes, Problems{"consentement_le.invalid"});
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_EQ(lead.consentementLe, RECEIVED);
}

// ---------------------------------------------------------------------------------------------
// Tracking and proof fields: kept even when over bound, with a warning

TEST(ValidateSubmission, TrackingFieldsOverBoundAreWarningsAndKept) {
  struct Case {
    const char* field;
    size_t bound;
    std::string Lead::*member;
  } cases[] = {
      {"source", 200, &Lead::source},
      {"utm_source", 200, &Lead::utmSource},
      {"utm_medium", 200, &Lead::utmMedium},
      {"utm_campaign", 200, &Lead::utmCampaign},
      {"consentement_texte", 2000, &Lead::consentementTexte},
      {"page_url", 2000, &Lead::pageUrl},
      {"user_agent", 1000, &Lead::userAgent},
      {"ip", 64, &Lead::ip},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    std::string atBound(c.bound, 'x');
    Lead lead = validate(with(good(), c.field, atBound));
    EXPECT_EQ(lead.problemes, Problems{});
    EXPECT_EQ(lead.*c.member, atBound);

    std::string over(c.bound + 1, 'x');
    lead = validate(with(good(), c.field, over));
    EXPECT_EQ(lead.problemes, Problems{std::string(c.field) + ".too_long"});
    EXPECT_EQ(lead.statut, Statut::NEW);
    EXPECT_EQ(lead.*c.member, over);
    EXPECT_FALSE(isBlockingProblem(std::string(c.field) + ".too_long"));
  }
}

// ---------------------------------------------------------------------------------------------
// recu_le

TEST(ValidateSubmission, RecuLeIgnoredUnlessAdminImport) {
  Lead lead = validate(with(good(), "recu_le", "2025-12-01T10:00:00+01:00"));
  EXPECT_EQ(lead.recuLe, RECEIVED);
  EXPECT_EQ(lead.problemes, Problems{"recu_le.ignored"});
  EXPECT_EQ(lead.statut, Statut::NEW);
}

TEST(ValidateSubmission, RecuLeUsedOnAdminImport) {
  ValidationContext c = context();
  c.allowRecuLe = true;
  Timestamp december =
      Timestamp(date::sys_days(date::year(2025) / 12 / 1).time_since_epoch() + hours(9));
  Lead lead = validateSubmission(with(good(), "recu_le", "2025-12-01T10:00:00+01:00"), c);
  EXPECT_EQ(lead.recuLe, december);
  EXPECT_EQ(lead.problemes, Problems{});
  // The proof of consent defaults to the lead's reception, not to the import.
  EXPECT_EQ(lead.consentementLe, december);
}

TEST(ValidateSubmission, RecuLeUnparseableOnAdminImportKeepsReceptionTime) {
  ValidationContext c = context();
  c.allowRecuLe = true;
  Lead lead = validateSubmission(with(good(), "recu_le", "01/12/2025"), c);
  EXPECT_EQ(lead.recuLe, RECEIVED);
  EXPECT_EQ(lead.problemes, Problems{"recu_le.invalid"});
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_FALSE(isBlockingProblem("recu_le.invalid"));
  EXPECT_FALSE(isBlockingProblem("recu_le.ignored"));
}

// ---------------------------------------------------------------------------------------------
// Unknown fields

TEST(ValidateSubmission, UnknownFieldIsAWarningAndNotStored) {
  Submission s = good();
  s.push_back({"commentaire", "rappeler le soir"});
  s.push_back({"commentaire", "encore"});
  Lead lead = validate(s);
  EXPECT_EQ(lead.problemes, Problems{"commentaire.unexpected"});  // once
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_FALSE(isBlockingProblem("commentaire.unexpected"));

  Lead plain = validate(good());
  plain.problemes = lead.problemes;
  EXPECT_EQ(lead, plain);  // nothing else of the lead changed
}

TEST(ValidateSubmission, EmptyNameAndValueIsIgnored) {
  Lead lead = validate(with(good(), "", ""));
  EXPECT_EQ(lead.problemes, Problems{});
}

// ---------------------------------------------------------------------------------------------
// Refusals (SPEC §3.2)

TEST(ValidateSubmission, BodyOver16KiBIsRefused) {
  // Many fields each within bound, 16 KiB + 1 in total.
  Submission s;
  size_t total = 0;
  for (int i = 0; total + 220 < MAX_BODY_BYTES; ++i) {
    std::string name = "f" + std::to_string(i);
    s.push_back({name, std::string(200, 'v')});
    total += name.size() + 200;
  }
  std::string pad(MAX_BODY_BYTES + 1 - total - 3, 'v');
  s.push_back({"pad", pad});
  total += 3 + pad.size();
  ASSERT_EQ(total, MAX_BODY_BYTES + 1);
  std::string message = refusal(s);
  EXPECT_NE(message.find("16 KiB"), std::string::npos) << message;

  // One byte less is accepted (as a lead full of problems).
  s.back().value.pop_back();
  EXPECT_EQ(validate(s).statut, Statut::INVALID);
}

TEST(ValidateSubmission, FieldOverFourTimesItsBoundIsRefused) {
  std::string message = refusal(with(good(), "nom", std::string(401, 'a')));
  EXPECT_NE(message.find("nom"), std::string::npos) << message;
  EXPECT_NE(message.find("400"), std::string::npos) << message;
  EXPECT_EQ(message.find("aaaa"), std::string::npos) << "the value must not be echoed";

  // Exactly 4 × is still a lead.
  EXPECT_EQ(validate(with(good(), "nom", std::string(400, 'a'))).problemes,
            Problems{"nom.too_long"});

  EXPECT_NE(refusal(with(good(), "code_postal", "750110750110750110750")).find("code_postal"),
            std::string::npos);
  EXPECT_NE(refusal(with(good(), "email", std::string(1017, 'e'))).find("1016"), std::string::npos);
}

TEST(ValidateSubmission, FourTimesBoundCountsRawBytesIncludingSpaces) {
  std::string padded = "Dupont" + std::string(395, ' ');  // 401 raw bytes, 6 once trimmed
  EXPECT_NE(refusal(with(good(), "nom", padded)).find("nom"), std::string::npos);
}

TEST(ValidateSubmission, UnknownFieldOverFourTimes200IsRefused) {
  EXPECT_EQ(validate(with(good(), "autre", std::string(800, 'z'))).problemes,
            Problems{"autre.unexpected"});
  std::string message = refusal(with(good(), "autre", std::string(801, 'z')));
  EXPECT_NE(message.find("autre"), std::string::npos) << message;
}

TEST(ValidateSubmission, BadUtf8InValueIsRefused) {
  std::string message = refusal(with(good(), "ville", "Paris\xFF"));
  EXPECT_NE(message.find("UTF-8"), std::string::npos) << message;
  EXPECT_NE(message.find("ville"), std::string::npos) << message;

  // Latin-1 "é", as an old form would post it.
  EXPECT_NE(refusal(with(good(), "nom", "Andr\xE9")).find("UTF-8"), std::string::npos);
  // Even in a field that would be ignored.
  EXPECT_NE(refusal(with(good(), "inconnu", "\xC0\xAF")).find("UTF-8"), std::string::npos);
}

TEST(ValidateSubmission, BadUtf8InNameIsRefused) {
  std::string message = refusal(with(good(), "n\xC3m", "x"));
  EXPECT_NE(message.find("UTF-8"), std::string::npos) << message;
}

TEST(ValidateSubmission, LongFieldNameIsRefused) {
  EXPECT_EQ(validate(with(good(), std::string(64, 'n'), "x")).statut, Statut::NEW);
  std::string message = refusal(with(good(), std::string(65, 'n'), "x"));
  EXPECT_NE(message.find("64"), std::string::npos) << message;
}

// ---------------------------------------------------------------------------------------------
// Blocking or not

TEST(IsBlockingProblem, Codes) {
  for (const char* code : {"produit.missing", "produit.unknown", "nom.missing", "nom.too_long",
                           "prenom.missing", "prenom.too_long", "telephone.missing",
                           "telephone.invalid", "code_postal.missing", "code_postal.invalid",
                           "consentement.absent", "consentement.invalid", "doublon.soumission"}) {
    EXPECT_TRUE(isBlockingProblem(code)) << code;
  }
  for (const char* code :
       {"email.invalid", "ville.too_long", "proprietaire.invalid", "type_logement.invalid",
        "consentement_le.invalid", "source.too_long", "recu_le.ignored", "x.unexpected", ""}) {
    EXPECT_FALSE(isBlockingProblem(code)) << code;
  }
}

TEST(ValidateSubmission, WarningsAloneKeepTheLeadNew) {
  Submission s = good();
  s = with(s, "email", "pas-un-email");
  s = with(s, "ville", std::string(150, 'v'));
  s = with(s, "proprietaire", "peut-être");
  s = with(s, "type_logement", "péniche");
  s = with(s, "consentement_le", "demain");
  s = with(s, "source", std::string(250, 's'));
  s = with(s, "recu_le", "2026-01-01");
  s = with(s, "bidule", "1");
  Lead lead = validate(s);
  EXPECT_EQ(lead.problemes, (Problems{"email.invalid", "ville.too_long", "proprietaire.invalid",
                                      "type_logement.invalid", "consentement_le.invalid",
                                      "source.too_long", "recu_le.ignored", "bidule.unexpected"}));
  EXPECT_EQ(lead.statut, Statut::NEW);

  // Plus one blocking problem: invalid.
  lead = validate(with(s, "code_postal", "00000"));
  EXPECT_EQ(lead.statut, Statut::INVALID);
}

// ---------------------------------------------------------------------------------------------
// Double submission

TEST(MarkDoubleSubmission, MakesInvalidOnceWithLink) {
  Lead lead = validate(with(good(), "email", "x"));
  ASSERT_EQ(lead.statut, Statut::NEW);
  markDoubleSubmission(lead, "L0001");
  EXPECT_EQ(lead.statut, Statut::INVALID);
  EXPECT_EQ(lead.doublonDe, "L0001");
  EXPECT_EQ(lead.problemes, (Problems{"email.invalid", "doublon.soumission"}));
  markDoubleSubmission(lead, "L0001");
  EXPECT_EQ(lead.problemes, (Problems{"email.invalid", "doublon.soumission"}));
}

// ---------------------------------------------------------------------------------------------
// canonicalSubmission

TEST(CanonicalSubmission, IsDeterministicAndUnambiguous) {
  Submission a = {{"nom", "a"}, {"prenom", "b"}};
  EXPECT_EQ(canonicalSubmission(a), canonicalSubmission(Submission(a)));

  // Order matters (a different body).
  EXPECT_NE(canonicalSubmission(a), canonicalSubmission({{"prenom", "b"}, {"nom", "a"}}));
  // Shifting bytes between name and value, or between fields, changes the encoding.
  EXPECT_NE(canonicalSubmission({{"ab", "c"}}), canonicalSubmission({{"a", "bc"}}));
  EXPECT_NE(canonicalSubmission({{"a", "b"}, {"c", "d"}}),
            canonicalSubmission({{"a", "b,1:c,1:d"}}));
  EXPECT_NE(canonicalSubmission({{"a", ""}}), canonicalSubmission({}));
  EXPECT_NE(canonicalSubmission({{"a", "1"}}), canonicalSubmission({{"a", "1 "}}));
  EXPECT_NE(canonicalSubmission({{"a", std::string("x\0y", 3)}}),
            canonicalSubmission({{"a", "x"}}));
}

// ---------------------------------------------------------------------------------------------
// normalizePhone / nationalDigits
// Example numbers come from the installed libphonenumber's metadata
// (PhoneNumberUtil::GetExampleNumberForType), so they are valid by construction.

TEST(NormalizePhone, MetropolitanForms) {
  for (const char* raw :
       {"06 12 34 56 78", "0612345678", "06.12.34.56.78", "06-12-34-56-78", "+33 6 12 34 56 78",
        "+33612345678", "0033612345678", "+33 (0)6 12 34 56 78", " 06 12 34 56 78 ",
        "06\xE2\x80\xAF"
        "12\xE2\x80\xAF"
        "34\xE2\x80\xAF"
        "56\xE2\x80\xAF"
        "78",
        "06\xC2\xA0"
        "12\xC2\xA0"
        "34\xC2\xA0"
        "56\xC2\xA0"
        "78"}) {
    EXPECT_EQ(normalizePhone(raw), "+33612345678") << raw;
  }
  EXPECT_EQ(normalizePhone("01 23 45 67 89"), "+33123456789");
  EXPECT_EQ(normalizePhone("07 00 00 00 01"), "+33700000001");
  EXPECT_EQ(normalizePhone("09 70 12 34 56"), "+33970123456");
}

TEST(NormalizePhone, OverseasNationalForms) {
  struct Case {
    const char* raw;
    const char* e164;
  } cases[] = {
      {"0262 16 12 34", "+262262161234"},  // Réunion fixed
      {"0692 12 34 56", "+262692123456"},  // Réunion mobile
      {"0269 60 12 34", "+262269601234"},  // Mayotte fixed
      {"0639 01 23 45", "+262639012345"},  // Mayotte mobile
      {"0590 20 12 34", "+590590201234"},  // Guadeloupe fixed
      {"0690 00 12 34", "+590690001234"},  // Guadeloupe mobile
      {"0590 27 12 34", "+590590271234"},  // Saint-Barthélemy / Saint-Martin fixed
      {"0594 10 12 34", "+594594101234"},  // Guyane fixed
      {"0694 20 12 34", "+594694201234"},  // Guyane mobile
      {"0596 30 12 34", "+596596301234"},  // Martinique fixed
      {"0696 20 12 34", "+596696201234"},  // Martinique mobile
  };
  for (const Case& c : cases) EXPECT_EQ(normalizePhone(c.raw), c.e164) << c.raw;
}

TEST(NormalizePhone, OverseasInternationalForms) {
  EXPECT_EQ(normalizePhone("+262 692 12 34 56"), "+262692123456");
  EXPECT_EQ(normalizePhone("00262692123456"), "+262692123456");
  EXPECT_EQ(normalizePhone("+590 690 00 12 34"), "+590690001234");
  EXPECT_EQ(normalizePhone("+594 594 10 12 34"), "+594594101234");
  EXPECT_EQ(normalizePhone("+596 696 20 12 34"), "+596696201234");
  EXPECT_EQ(normalizePhone("+508 43 01 23"), "+508430123");  // Saint-Pierre-et-Miquelon
  EXPECT_EQ(normalizePhone("+508 55 12 34"), "+508551234");
  EXPECT_EQ(normalizePhone("+269 773 12 34"), "+2697731234");  // +269 is in SPEC's list
}

TEST(NormalizePhone, OverseasLineWrittenWithPlus33GetsItsOwnCode) {
  // One subscriber, one E.164: otherwise the duplicate rules could be escaped by writing the
  // number differently.
  EXPECT_EQ(normalizePhone("+33 262 16 12 34"), normalizePhone("0262 16 12 34"));
  EXPECT_EQ(normalizePhone("+33 692 12 34 56"), "+262692123456");
}

// The plain forms ("0612345678", "+33…", "0033…", spaces, dots, dashes) take a fast path built
// from the digits; slashes, which libphonenumber also reads as punctuation, take the general
// path. Both must agree on every 4-digit national prefix, valid or not, metropolitan or overseas.
TEST(NormalizePhone, FastPathAgreesWithTheGeneralPathOnEveryPrefix) {
  int valid = 0;
  for (int prefix = 1000; prefix <= 9999; ++prefix) {
    for (const char* suffix : {"00000", "12345", "98765"}) {
      std::string nsn = std::to_string(prefix) + suffix;
      std::string slashed = "0" + nsn.substr(0, 1);
      for (size_t i = 1; i < nsn.size(); i += 2) slashed += "/" + nsn.substr(i, 2);
      auto general = normalizePhone(slashed);
      ASSERT_EQ(normalizePhone("0" + nsn), general) << slashed;
      ASSERT_EQ(normalizePhone("+33" + nsn), general) << slashed;
      ASSERT_EQ(normalizePhone("0033 " + nsn), general) << slashed;
      if (general) ++valid;
    }
  }
  EXPECT_GT(valid, 5000);  // the comparison covered valid numbers, not only refusals
}

TEST(NormalizePhone, Invalid) {
  for (const char* raw : {"", "   ", "12345", "0000000000", "06 12 34 56", "06 12 34 56 78 9",
                          "abcdefghij", "06 12 AB CD EF", "0612345678 ext 12",
                          "+44 20 7946 0958",  // United Kingdom
                          "+44 121 234 5678",  // United Kingdom
                          "+32 470 12 34 56",  // Belgium
                          "+1 650 253 0000",   // United States
                          "+41 44 668 18 00",  // Switzerland
                          "+33 1 23", "06 12 34 56 78 06 12 34 56 78 06 12"}) {
    EXPECT_EQ(normalizePhone(raw), std::nullopt) << raw;
  }
}

TEST(NationalDigits, MetropolitanAndOverseas) {
  EXPECT_EQ(nationalDigits("+33612345678"), "0612345678");
  EXPECT_EQ(nationalDigits("+33123456789"), "0123456789");
  EXPECT_EQ(nationalDigits("+262692123456"), "0692123456");
  EXPECT_EQ(nationalDigits("+262639012345"), "0639012345");
  EXPECT_EQ(nationalDigits("+590590201234"), "0590201234");
  EXPECT_EQ(nationalDigits("+594694201234"), "0694201234");
  EXPECT_EQ(nationalDigits("+596596301234"), "0596301234");
  EXPECT_EQ(nationalDigits("garbage"), "");
  // Round trip through normalisation.
  EXPECT_EQ(normalizePhone(nationalDigits("+262692123456")), "+262692123456");
  EXPECT_EQ(normalizePhone(nationalDigits("+33612345678")), "+33612345678");
}

// ---------------------------------------------------------------------------------------------
// departementOf

TEST(DepartementOf, Edges) {
  struct Case {
    const char* cp;
    std::optional<std::string> dep;
  } cases[] = {
      {"01000", "01"},
      {"75011", "75"},
      {"95000", "95"},
      {"19000", "19"},
      {"21000", "21"},
      {"20000", "2A"},
      {"20090", "2A"},
      {"20199", "2A"},
      {"20200", "2B"},
      {"20600", "2B"},
      {"20999", "2B"},
      {"97100", "971"},
      {"97200", "972"},
      {"97300", "973"},
      {"97400", "974"},
      {"97500", "975"},
      {"97600", "976"},
      {"97699", "976"},
      {"97000", std::nullopt},
      {"97099", std::nullopt},
      {"97700", std::nullopt},
      {"97800", std::nullopt},
      {"97900", std::nullopt},
      {"98000", std::nullopt},
      {"98799", std::nullopt},
      {"96000", std::nullopt},
      {"99000", std::nullopt},
      {"00100", std::nullopt},
      {"00000", std::nullopt},
      {"7500", std::nullopt},
      {"750011", std::nullopt},
      {"75 01", std::nullopt},
      {"ABCDE", std::nullopt},
      {"", std::nullopt},
      {"7501a", std::nullopt},
      {" 7501", std::nullopt},
      {"\xD9\xA7\xD9\xA5\xD9\xA0", std::nullopt},  // Arabic-Indic digits are not digits here
  };
  for (const Case& c : cases) EXPECT_EQ(departementOf(c.cp), c.dep) << c.cp;
}

// ---------------------------------------------------------------------------------------------
// parseBool, trim, isValidUtf8

TEST(ParseBool, Words) {
  for (const char* yes : {"true", "TRUE", "True", "oui", "OUI", "Oui", "1", " oui ", "\toui\n"}) {
    EXPECT_EQ(parseBool(yes), true) << yes;
  }
  for (const char* no : {"false", "FALSE", "non", "Non", "0", " 0 "}) {
    EXPECT_EQ(parseBool(no), false) << no;
  }
  for (const char* other : {"", "yes", "no", "o", "n", "2", "vrai", "oui non", "01", "on"}) {
    EXPECT_EQ(parseBool(other), std::nullopt) << other;
  }
}

TEST(Trim, AsciiAndNoBreakSpaces) {
  EXPECT_EQ(trim("  a b  "), "a b");
  EXPECT_EQ(trim("\t\r\n a \v\f"), "a");
  EXPECT_EQ(trim("\xC2\xA0"
                 "a\xC2\xA0"),
            "a");
  EXPECT_EQ(trim("\xE2\x80\xAF"
                 "a"
                 "\xE2\x80\xAF"),
            "a");
  EXPECT_EQ(trim("\xC2\xA0 \xE2\x80\xAF a \xE2\x80\xAF \xC2\xA0"), "a");
  EXPECT_EQ(trim("a\xC2\xA0"
                 "b"),
            "a\xC2\xA0"
            "b");  // inner spaces kept
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \xC2\xA0 "), "");
  // Other characters that merely start like a no-break space are kept.
  EXPECT_EQ(trim("\xC2\xA9"), "\xC2\xA9");          // ©
  EXPECT_EQ(trim("\xE2\x80\xA6"), "\xE2\x80\xA6");  // …
}

TEST(IsValidUtf8, Accepts) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ASCII"));
  EXPECT_TRUE(isValidUtf8("élève à Noël"));
  EXPECT_TRUE(isValidUtf8("\xE2\x82\xAC"));               // €
  EXPECT_TRUE(isValidUtf8("\xF0\x9F\x98\x80"));           // U+1F600
  EXPECT_TRUE(isValidUtf8("\xF4\x8F\xBF\xBF"));           // U+10FFFF
  EXPECT_TRUE(isValidUtf8("\xED\x9F\xBF"));               // U+D7FF, just below the surrogates
  EXPECT_TRUE(isValidUtf8("\xEE\x80\x80"));               // U+E000, just above them
  EXPECT_TRUE(isValidUtf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8
}

TEST(IsValidUtf8, Rejects) {
  for (std::string_view bad : {
           "\x80",                  // lone continuation byte
           "\xBF",                  // lone continuation byte
           "\xC3",                  // truncated 2-byte sequence
           "\xE2\x82",              // truncated 3-byte sequence
           "\xF0\x9F\x98",          // truncated 4-byte sequence
           "\xC3\x28",              // bad continuation
           "\xC0\xAF",              // overlong '/'
           "\xC1\xBF",              // overlong
           "\xE0\x80\xAF",          // overlong 3-byte
           "\xF0\x80\x80\xAF",      // overlong 4-byte
           "\xED\xA0\x80",          // U+D800 surrogate
           "\xED\xBF\xBF",          // U+DFFF surrogate
           "\xF4\x90\x80\x80",      // U+110000
           "\xF5\x80\x80\x80",      // beyond
           "\xF8\x88\x80\x80\x80",  // 5-byte form
           "\xFF", "\xFE",
           "ok\xE9t\xE9",  // Latin-1
       }) {
    EXPECT_FALSE(isValidUtf8(bad)) << testing::PrintToString(std::string(bad));
  }
}

// ---------------------------------------------------------------------------------------------
// types.h and clock.h

TEST(Types, EntityNames) {
  EXPECT_EQ(entityName(Entity::ZR7), "ZR7");
  EXPECT_EQ(entityName(Entity::MDL), "MDL");
  EXPECT_EQ(entitySlug(Entity::ZR7), "zr7");
  EXPECT_EQ(entitySlug(Entity::MDL), "mdl");
  EXPECT_EQ(parseEntity("ZR7"), Entity::ZR7);
  EXPECT_EQ(parseEntity("zr7"), Entity::ZR7);
  EXPECT_EQ(parseEntity("Mdl"), Entity::MDL);
  EXPECT_EQ(parseEntity("mdl"), Entity::MDL);
  EXPECT_EQ(parseEntity(""), std::nullopt);
  EXPECT_EQ(parseEntity("ZR"), std::nullopt);
  EXPECT_EQ(parseEntity("ZR77"), std::nullopt);
  EXPECT_EQ(parseEntity(" ZR7"), std::nullopt);
  EXPECT_EQ(parseEntity("XYZ"), std::nullopt);
}

TEST(Types, StatutNames) {
  EXPECT_EQ(statutName(Statut::NEW), "new");
  EXPECT_EQ(statutName(Statut::DELIVERED), "delivered");
  EXPECT_EQ(statutName(Statut::LB), "lb");
  EXPECT_EQ(statutName(Statut::INVALID), "invalid");
  EXPECT_EQ(statutName(Statut::REJECTED), "rejected");
}

// ---- the HTTP request's proof (rdz-gateway) -------------------------------------------------

HttpRequestProof browser() {
  return {"203.0.113.7", "Mozilla/5.0 (X11) Chrome/120", "https://landing.example/pac", false};
}

TEST(RequestProof, FillsWhatTheFormLeftEmptyAndKeepsWhatItSent) {
  Lead lead = validateSubmission(good(), context());
  std::string detail = applyRequestProof(lead, browser());
  EXPECT_EQ(lead.ip, "203.0.113.7");
  EXPECT_EQ(lead.userAgent, "Mozilla/5.0 (X11) Chrome/120");
  EXPECT_EQ(lead.pageUrl, "https://landing.example/pac");
  EXPECT_EQ(lead.requeteIp, "203.0.113.7");
  EXPECT_EQ(lead.requeteUserAgent, "Mozilla/5.0 (X11) Chrome/120");
  EXPECT_EQ(lead.requetePageUrl, "https://landing.example/pac");
  EXPECT_EQ(lead.statut, Statut::NEW);
  EXPECT_TRUE(lead.problemes.empty());
  EXPECT_EQ(
      detail,
      "formulaire: ip \"\", user_agent \"\", page_url \"\"; requête: ip \"203.0.113.7\", "
      "user_agent \"Mozilla/5.0 (X11) Chrome/120\", page_url \"https://landing.example/pac\"");

  Submission sent = good();
  sent.push_back({"ip", "198.51.100.2"});
  sent.push_back({"user_agent", "Server-side form"});
  Lead own = validateSubmission(sent, context());
  applyRequestProof(own, browser());
  EXPECT_EQ(own.ip, "198.51.100.2");
  EXPECT_EQ(own.userAgent, "Server-side form");
  EXPECT_EQ(own.pageUrl, "https://landing.example/pac");  // the form sent none
  EXPECT_EQ(own.requeteIp, "203.0.113.7");

  // A request value over its field's bound is kept, with the field's warning.
  HttpRequestProof longAgent = browser();
  longAgent.userAgent = std::string(1001, 'a');
  Lead warned = validateSubmission(good(), context());
  applyRequestProof(warned, longAgent);
  EXPECT_EQ(warned.userAgent.size(), 1001u);
  EXPECT_EQ(warned.problemes, std::vector<std::string>{"user_agent.too_long"});
  EXPECT_EQ(warned.statut, Statut::NEW);
}

TEST(RequestProof, AFilledHoneypotBlocks) {
  HttpRequestProof bot = browser();
  bot.honeypot = true;
  Lead lead = validateSubmission(good(), context());
  applyRequestProof(lead, bot);
  EXPECT_EQ(lead.statut, Statut::INVALID);
  EXPECT_EQ(lead.problemes, std::vector<std::string>{"spam.honeypot"});
  EXPECT_TRUE(isBlockingProblem("spam.honeypot"));
}

TEST(RequestProof, RefusalsAndAcceptedTimes) {
  EXPECT_EQ(requestRefusal(browser()), std::nullopt);
  HttpRequestProof bad = browser();
  bad.pageUrl = std::string(8001, 'p');
  EXPECT_NE(requestRefusal(bad), std::nullopt);
  bad = browser();
  bad.ip = "\xc3";
  EXPECT_NE(requestRefusal(bad), std::nullopt);
  bad = browser();
  bad.userAgent = std::string("a\0b", 3);
  EXPECT_NE(requestRefusal(bad), std::nullopt);

  const auto maxAge = hours(168);
  EXPECT_EQ(checkAcceptedTime(RECEIVED, RECEIVED, maxAge), AcceptedTime::BELIEVED);
  EXPECT_EQ(checkAcceptedTime(RECEIVED - maxAge, RECEIVED, maxAge), AcceptedTime::BELIEVED);
  EXPECT_EQ(checkAcceptedTime(RECEIVED - maxAge - Duration(1), RECEIVED, maxAge),
            AcceptedTime::TOO_OLD);
  EXPECT_EQ(checkAcceptedTime(RECEIVED + Duration(1), RECEIVED, maxAge), AcceptedTime::IN_FUTURE);
}

TEST(Clock, SystemClockIsNowInMicroseconds) {
  auto before = std::chrono::floor<Duration>(std::chrono::system_clock::now());
  Timestamp t = SystemClock().now();
  auto after = std::chrono::system_clock::now();
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(RECEIVED);
  EXPECT_EQ(clock.now(), RECEIVED);
  EXPECT_EQ(clock.now(), RECEIVED);
  clock.advance(minutes(10));
  EXPECT_EQ(clock.now(), RECEIVED + minutes(10));
  clock.set(RECEIVED - hours(1));
  EXPECT_EQ(clock.now(), RECEIVED - hours(1));
}

}  // namespace
}  // namespace rdz
