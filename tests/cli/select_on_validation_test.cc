// simulations/reproduce/select_on_validation.py on hand-written sweep folders: the step size is
// the one with the best MEAN validation accuracy over seeds (here not the one the test split
// would pick), the reported test error is 1 - test accuracy of exactly those runs (mean and
// sample std worked out by hand), the runs file lists their folders and a sweep without the
// --by key becomes a reference line.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;

TEST(SelectOnValidationTest, ChoosesOnValidationAndReportsTestAtThatChoice) {
  const fs::path dir = testing::FreshTempDir("select_on_validation");
  // eps 1: lr 0.5 has the better validation mean (0.80 against 0.79) but the worse test accuracy.
  // eps 2: lr 1 wins on validation.
  testing::WriteFile(dir / "private" / "sweep_points.txt",
                     "point_0 aa privacy.epsilon=1 algorithm.lr=0.5 seed=1\n"
                     "point_1 bb privacy.epsilon=1 algorithm.lr=0.5 seed=2\n"
                     "point_2 cc privacy.epsilon=1 algorithm.lr=1 seed=1\n"
                     "point_3 dd privacy.epsilon=1 algorithm.lr=1 seed=2\n"
                     "point_4 ee privacy.epsilon=2 algorithm.lr=0.5 seed=1\n"
                     "point_5 ff privacy.epsilon=2 algorithm.lr=1 seed=1\n");
  testing::WriteFile(dir / "private" / "sweep.csv",
                     "privacy.epsilon,algorithm.lr,seed,rounds_completed,test_accuracy,"
                     "val_accuracy\n"
                     "1,0.5,1,5,0.70,0.81\n"
                     "1,0.5,2,5,0.74,0.79\n"
                     "1,1,1,5,0.90,0.78\n"
                     "1,1,2,5,0.90,0.80\n"
                     "2,0.5,1,5,0.60,0.70\n"
                     "2,1,1,5,0.85,0.75\n");
  testing::WriteFile(dir / "plain" / "sweep_points.txt",
                     "point_0 aa algorithm.lr=0.5 seed=1\npoint_1 bb algorithm.lr=1 seed=1\n");
  testing::WriteFile(dir / "plain" / "sweep.csv",
                     "algorithm.lr,seed,test_accuracy,val_accuracy\n0.5,1,0.88,0.86\n1,1,0.9,0.8\n");
  const auto result = testing::RunShell(
      "python3 simulations/reproduce/select_on_validation.py --tune algorithm.lr --by "
      "privacy.epsilon --runs " + (dir / "runs.txt").string() + " --references " +
      (dir / "refs.txt").string() + " " + (dir / "private").string() + " " +
      (dir / "plain").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // eps 1 at lr 0.5: errors 0.30, 0.26 -> mean 0.28, std |0.30 - 0.26| / sqrt(2) = 0.0283.
  EXPECT_NE(result.output.find("| private | 1 | 0.5 (of 2) | 2 | 0.8000 | 0.2800 ± 0.0283 |"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("| private | 2 | 1 (of 2) | 1 | 0.7500 | 0.1500 ± nan |"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("| plain | - | 0.5 (of 2) | 1 | 0.8600 | 0.1200 ± nan |"),
            std::string::npos)
      << result.output;
  const std::string p = (dir / "private").string();
  EXPECT_EQ(testing::ReadFile(dir / "runs.txt"), p + "/point_0\n" + p + "/point_1\n" + p +
                                                    "/point_5\n" + (dir / "plain").string() +
                                                    "/point_0\n");
  EXPECT_EQ(testing::ReadFile(dir / "refs.txt"), "plain=0.1200\n");

  // A sweep without validation numbers is refused by name.
  testing::WriteFile(dir / "plain" / "sweep.csv",
                     "algorithm.lr,seed,test_accuracy,val_accuracy\n0.5,1,0.88,\n1,1,0.9,0.8\n");
  const auto refused = testing::RunShell(
      "python3 simulations/reproduce/select_on_validation.py --tune algorithm.lr " +
      (dir / "plain").string());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("point_0 has no validation accuracy (set data.validation)"),
            std::string::npos)
      << refused.output;
}

}  // namespace
}  // namespace fedsilo
