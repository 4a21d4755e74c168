// rdzctl audit end to end (SPEC §7.5): the real rdzd and rdzctl; the data directory of a stopped
// rdzd damaged through the store layer (tests/support/corrupt-store.h), then audited again.
#include <algorithm>

#include "daemon/domain/audit.h"
#include "daemon/store/keys.h"
#include "daemon/store/store.h"
#include "tests/e2e/harness.h"
#include "tests/support/corrupt-store.h"

namespace rdz::e2e {
namespace {

class AuditE2e : public E2eTest {
 protected:
  std::string submit(const std::string& phone) {
    Json answer =
        ctlJson({"lead", "submit", "--entity", "ZR7", "produit=PV", "nom=Martin", "prenom=Zoé",
                 "telephone=" + phone, "code_postal=33000", "consentement=oui"});
    return textAt(answer.root(), "id");
  }
};

TEST_F(AuditE2e, ExitZeroWhenCleanOneWithEachViolationNamed) {
  std::string first = submit("0611111111");
  std::string second = submit("0622222222");
  RunResult clean = ctl({"audit"});
  EXPECT_EQ(clean.exitCode, 0) << describe(clean);
  EXPECT_NE(clean.out.find("audit ok: 2 leads"), std::string::npos) << clean.out;

  // rdzd stopped, two records damaged in its data directory, rdzd started again.
  ASSERT_EQ(daemon_->stop(), 0);
  std::string statusKey;
  {
    auto store = Store::open(dataDir() + "/db");
    test::setNbLivraisons(*store, Entity::ZR7, first, 2);
    statusKey = test::dropStatusEntry(*store, Entity::ZR7, second);
  }
  daemon_->start();

  RunResult text = ctl({"audit"});
  EXPECT_EQ(text.exitCode, 1) << describe(text);
  EXPECT_NE(text.out.find("audit: 2 violation(s)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("lead.nb_livraisons  zr7.leads/" + first), std::string::npos) << text.out;

  RunResult json = ctl({"--json", "audit"});
  EXPECT_EQ(json.exitCode, 1) << describe(json);
  Json report(json.out);
  EXPECT_FALSE(boolAt(report.root(), "ok"));
  EXPECT_EQ(numberAt(at(report.root(), "checked"), "leads"), 2);
  EXPECT_EQ(numberAt(report.root(), "violations_total"), 2);
  auto violations = array(at(report.root(), "violations"));
  ASSERT_EQ(violations.size(), 2u);
  std::vector<std::pair<std::string, std::string>> found;
  for (auto v : violations) found.emplace_back(textAt(v, "invariant"), textAt(v, "key"));
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::pair<std::string, std::string>>{
                       {"index.missing", auditKey(Entity::ZR7, "index", statusKey)},
                       {"lead.nb_livraisons", "zr7.leads/" + first}}));

  // The audit is an admin's: an ingest token has none.
  EXPECT_NE(ctlAs(ingestTokenFile("zr7"), {"audit"}).exitCode, 0);
}

}  // namespace
}  // namespace rdz::e2e
