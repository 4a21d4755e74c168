// rdz-bench run end to end, small: it loads a database, starts the real rdzd on it, runs the day
// and every batch reaches its SMTP sink; the database it leaves (the load and the run) passes the
// store's consistency check. Behaviour only: no timing is asserted.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <regex>
#include <string>

#include "tests/support/temp-dir.h"
#include "tools/store-check.h"

namespace rdz {
namespace {

// The integer of "name":N in `json` (-1 when absent).
long long field(const std::string& json, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + name + "\":(-?[0-9]+)"))) return -1;
  return std::stoll(m[1]);
}

TEST(BenchRunTest, RunsADayOnALoadedDatabaseAndSendsEveryBatch) {
  test::TempDir dir;
  std::string command = std::string(RDZ_BENCH_PATH) + " run --data-dir " + (dir / "data") +
                        " --rdzd " + RDZD_PATH +
                        " --leads 2000 --history 5000 --commandes 20 --seconds 1 --send-timeout 120"
                        " 2>" + (dir / "stderr");
  FILE* out = popen(command.c_str(), "r");
  ASSERT_TRUE(out != nullptr);
  std::string stdoutText;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), out)) stdoutText.append(buffer, n);
  int status = pclose(out);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << stdoutText;

  EXPECT_NE(stdoutText.find("\"rdz\":\"run\""), std::string::npos) << stdoutText;
  EXPECT_EQ(field(stdoutText, "leads"), 2000);
  EXPECT_EQ(field(stdoutText, "history"), 5000);
  EXPECT_GT(field(stdoutText, "assigned"), 0) << stdoutText;
  EXPECT_GT(field(stdoutText, "batches"), 0) << stdoutText;
  EXPECT_EQ(field(stdoutText, "batches_received"), field(stdoutText, "batches")) << stdoutText;

  // rdzd is stopped: the database is the load plus the run, and it holds together.
  auto store = Store::open(dir / "data/db");
  StoreCheckReport report = checkStore(*store, 30);
  EXPECT_GE(report.leads, 7000u);
  EXPECT_GE(report.deliveries, 5000u + static_cast<uint64_t>(field(stdoutText, "assigned")));
  for (auto& v : report.violations) ADD_FAILURE() << v;
}

}  // namespace
}  // namespace rdz
