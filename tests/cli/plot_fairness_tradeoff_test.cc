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

namespace fedsilo {
namespace {

// Curves whose names start with the same number ("1" and "1 (published)") stay two curves even
// when their rows interleave in the numeric sort.
TEST(PlotFairnessTradeoffTest, CurvesSharingALeadingNumberStayApart) {
  const fs::path dir = testing::FreshTempDir("plot_tradeoff_curves");
  testing::WriteFile(dir / "ours.csv",
                     "privacy.epsilon,fairness.lambda,rounds_completed,epsilon,test_error,"
                     "dp_violation\n1,0,5,1,0.16,0.20\n1,1,5,1,0.18,0.05\n");
  testing::WriteFile(dir / "published.csv",
                     "privacy.epsilon,fairness.lambda,rounds_completed,epsilon,test_error,"
                     "dp_violation\n1 (published),0,1,1,0.159,0.202\n"
                     "1 (published),1,1,1,0.187,0.010\n");
  const auto result = testing::RunShell(
      "bash simulations/plot_fairness_tradeoff.sh -o " + (dir / "out.png").string() + " " +
      (dir / "ours.csv").string() + " " + (dir / "published.csv").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("(2 curves;"), std::string::npos) << result.output;
}

// simulations/reproduce/fairness_front.py on a hand-written sweep: per epsilon, the groups (all
// axes but seed) on the validation Pareto front of (error, violation) are kept, whatever their
// test numbers, and their test means and sample stds are reported.
TEST(FairnessFrontTest, KeepsTheValidationParetoFrontAndReportsItsTestNumbers) {
  const fs::path dir = testing::FreshTempDir("fairness_front");
  // eps 1: lambda 0 (val error 0.10, violation 0.20) and lambda 4 (0.15, 0.05) are on the front;
  // lambda 1 (0.12, 0.25) is dominated by lambda 0 although its test numbers are the best.
  // eps 2: one group, kept.
  testing::WriteFile(dir / "dp" / "sweep.csv",
                     "privacy.epsilon,fairness.lambda,seed,rounds_completed,epsilon,test_error,"
                     "dp_violation,val_accuracy,val_dp_violation\n"
                     "1,0,1,5,1,0.16,0.22,0.90,0.20\n"
                     "1,0,2,5,1,0.18,0.18,0.90,0.20\n"
                     "1,1,1,5,1,0.10,0.01,0.88,0.25\n"
                     "1,1,2,5,1,0.10,0.01,0.88,0.25\n"
                     "1,4,1,5,1,0.19,0.06,0.85,0.04\n"
                     "1,4,2,5,1,0.19,0.04,0.85,0.06\n"
                     "2,0,1,5,2,0.15,0.20,0.91,0.19\n");
  const auto result = testing::RunShell("python3 simulations/reproduce/fairness_front.py --chosen " +
                                        (dir / "chosen").string() + " " + (dir / "dp").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // lambda 0: test errors 0.16, 0.18 -> 0.17 ± 0.0141; violations 0.22, 0.18 -> 0.20 ± 0.0283.
  EXPECT_NE(result.output.find("| dp | 1 | fairness.lambda=0 | 2 | 0.1000 | 0.2000 | "
                               "0.1700 ± 0.0141 | 0.2000 ± 0.0283 |"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("| dp | 1 | fairness.lambda=4 | 2 | 0.1500 | 0.0500 | "
                               "0.1900 ± 0.0000 | 0.0500 ± 0.0141 |"),
            std::string::npos)
      << result.output;
  EXPECT_EQ(result.output.find("fairness.lambda=1 "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("| dp | 2 | fairness.lambda=0 | 1 |"), std::string::npos)
      << result.output;
  const std::string chosen = testing::ReadFile(dir / "chosen" / "dp.csv");
  EXPECT_EQ(chosen.find("1,1,1,"), std::string::npos) << chosen;  // the dominated group's rows
  EXPECT_NE(chosen.find("1,4,2,5,1,0.19,0.04,0.85,0.06\n"), std::string::npos) << chosen;
}

}  // namespace
}  // namespace fedsilo
