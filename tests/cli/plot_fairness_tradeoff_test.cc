// simulations/plot_fairness_tradeoff.sh on real sweep tables: a private FERMI grid (two epsilons
// x two lambdas x two seeds) and a non-private one, from `fedsilo sweep` on a synthetic CSV with
// groups. The script must write a real PNG (signature, IHDR of the requested size, non-trivial
// size) and refuse a column the tables do not have.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/base/rng.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;

// 1000 records: group g, x1 ~ N(g, 1), x2 ~ N(0, 1), label 1 w.p. sigmoid(2 x1 + x2 - 1).
fs::path WriteConfig(const fs::path& dir, const std::string& algorithm) {
  Rng rng(9);
  std::ostringstream csv;
  csv << "x1,x2,grp,label\n";
  for (int i = 0; i < 1000; ++i) {
    const int g = rng.Uniform() < 0.4 ? 1 : 0;
    const double x1 = g + rng.Normal(), x2 = rng.Normal();
    const double p = 1.0 / (1.0 + std::exp(-(2.0 * x1 + x2 - 1.0)));
    csv << x1 << "," << x2 << "," << (g ? "b" : "a") << "," << (rng.Uniform() < p ? "yes" : "no")
        << "\n";
  }
  testing::WriteFile(dir / "data.csv", csv.str());
  const fs::path config = dir / (algorithm + ".yaml");
  testing::WriteFile(config, "data: {dataset: csv, train: " + (dir / "data.csv").string() +
                                 ", label: label, positive: \"yes\", categorical: [grp], "
                                 "sensitive: grp, drop: [grp]}\n"
                                 "partition: {scheme: iid, silos: 4}\n"
                                 "model: {type: logistic}\n"
                                 "algorithm: {name: " + algorithm +
                                 ", rounds: 30, batch_size: 50, lr: 0.5, personalize_steps: 0}\n"
                                 "fairness: {w_clip: 4, marginals: local}\n"
                                 "output: {eval_every: 30, save_model: false}\n");
  return config;
}

TEST(PlotFairnessTradeoffTest, WritesAPngFromRealSweepTables) {
  ASSERT_EQ(testing::RunShell("command -v gnuplot").exit_code, 0)
      << "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox)";
  const fs::path dir = testing::FreshTempDir("plot_tradeoff");
  const fs::path dp = WriteConfig(dir, "isrl_dp_fair_fermi");
  const fs::path plain = WriteConfig(dir, "fair_fermi");
  auto sweep = testing::RunFedsilo("sweep " + dp.string() + " --out " + (dir / "dp").string() +
                                   " --set-list privacy.epsilon=1,3 --set-list fairness.lambda=0,2"
                                   " --set-list seed=1,2 --threads 2");
  ASSERT_EQ(sweep.exit_code, 0) << sweep.output;
  sweep = testing::RunFedsilo("sweep " + plain.string() + " --out " + (dir / "plain").string() +
                              " --set-list fairness.lambda=0,2 --threads 2");
  ASSERT_EQ(sweep.exit_code, 0) << sweep.output;
  const std::string tables =
      (dir / "dp" / "sweep.csv").string() + " " + (dir / "plain" / "sweep.csv").string();
  const fs::path png = dir / "tradeoff.png";
  auto plot = testing::RunShell("bash simulations/plot_fairness_tradeoff.sh -x eo_violation -o " +
                       png.string() + " " + tables);
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_NE(plot.output.find("3 curves"), std::string::npos) << plot.output;  // eps 1, 3, inf
  const std::string bytes = testing::ReadFile(png);
  ASSERT_GT(bytes.size(), 10000u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // The first chunk is IHDR: width and height (big-endian) as the script asks gnuplot for.
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  auto be32 = [&](size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 24) |
           (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  EXPECT_EQ(be32(16), 900u);
  EXPECT_EQ(be32(20), 640u);
  // A column the tables do not have is bad input, named in the message; nothing is written.
  const fs::path bad = dir / "bad.png";
  auto refused = testing::RunShell("bash simulations/plot_fairness_tradeoff.sh -x parity_gap -o " +
                          bad.string() + " " + tables);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("parity_gap"), std::string::npos) << refused.output;
  EXPECT_FALSE(fs::exists(bad));
}

}  // namespace
}  // namespace fedsilo
