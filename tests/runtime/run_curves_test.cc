// LoadCurves: runs grouped by what differs in their configs and averaged over seeds; the means,
// bands and labels against values worked out by hand.
#include "common/runtime/run_curves.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;

void WriteRun(const fs::path& dir, int seed, double lr, const std::string& metrics) {
  fs::create_directories(dir);
  std::ofstream(dir / "config.yaml") << "seed: " << seed << "\nalgorithm:\n  name: fedavg\n  lr: "
                                     << lr << "\noutput:\n  dir: " << dir.string() << "\n";
  std::ofstream(dir / "metrics.csv") << "round,test_accuracy,epsilon\n" << metrics;
}

class RunCurvesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("run_curves");
    // Three seeds at lr 0.1, one run at lr 0.2; as a sweep's folder would hold them.
    WriteRun(dir_ / "point_0", 1, 0.1, "10,0.5,1.0\n20,0.8,2.0\n");
    WriteRun(dir_ / "point_1", 2, 0.1, "10,0.6,1.0\n20,0.8,2.0\n");
    WriteRun(dir_ / "point_2", 3, 0.1, "10,0.7,1.0\n20,0.9,2.0\n");
    WriteRun(dir_ / "point_3", 1, 0.2, "10,0.4,1.5\n20,nan,3.0\n");
  }
  fs::path dir_;
};

TEST_F(RunCurvesTest, SeedsAreAveragedWithTheirStandardDeviation) {
  auto curves = LoadCurves({(dir_ / "point_0").string(), (dir_ / "point_1").string(),
                            (dir_ / "point_2").string(), (dir_ / "point_3").string()},
                           CurveOptions{});
  ASSERT_TRUE(curves.ok()) << curves.status();
  ASSERT_EQ(curves->size(), 2u);
  const Curve& first = (*curves)[0];
  EXPECT_EQ(first.label, "algorithm.lr=0.1");
  EXPECT_EQ(first.run_dirs.size(), 3u);
  ASSERT_EQ(first.points.size(), 2u);
  EXPECT_EQ(first.points[0].round, 10);
  EXPECT_DOUBLE_EQ(first.points[0].x, 10.0);
  EXPECT_NEAR(first.points[0].y, 0.6, 1e-12);
  EXPECT_NEAR(first.points[0].high - first.points[0].y, 0.1, 1e-12);  // std of .5 .6 .7
  EXPECT_NEAR(first.points[1].y, 2.5 / 3.0, 1e-12);
  EXPECT_NEAR(first.points[1].y - first.points[1].low, std::sqrt(1.0 / 300.0), 1e-12);
  EXPECT_EQ(first.points[1].runs, 3);
  const Curve& second = (*curves)[1];
  EXPECT_EQ(second.label, "algorithm.lr=0.2");
  ASSERT_EQ(second.points.size(), 1u);  // its round 20 is NaN: left out
  EXPECT_DOUBLE_EQ(second.points[0].y, 0.4);
  EXPECT_DOUBLE_EQ(second.points[0].low, 0.4);  // one run: no band
  EXPECT_EQ(second.points[0].runs, 1);
}

TEST_F(RunCurvesTest, ASweepFolderStandsForItsPointsAndXCanBeEpsilon) {
  CurveOptions options;
  options.x = "epsilon";
  options.band = CurveBand::kCi95;
  auto curves = LoadCurves({dir_.string()}, options);
  ASSERT_TRUE(curves.ok()) << curves.status();
  ASSERT_EQ(curves->size(), 2u);
  const CurvePoint& point = (*curves)[0].points[0];
  EXPECT_DOUBLE_EQ(point.x, 1.0);
  // t(0.975, 2) = 4.303: 4.303 * 0.1 / sqrt(3).
  EXPECT_NEAR(point.high - point.y, 4.303 * 0.1 / std::sqrt(3.0), 1e-12);
  EXPECT_DOUBLE_EQ((*curves)[1].points[0].x, 1.5);
}

TEST_F(RunCurvesTest, WhereKeepsTheRunsThatMatch) {
  CurveOptions options;
  options.where = {"algorithm.lr=0.1", "seed=2"};
  auto curves = LoadCurves({dir_.string()}, options);
  ASSERT_TRUE(curves.ok()) << curves.status();
  ASSERT_EQ(curves->size(), 1u);
  EXPECT_EQ((*curves)[0].run_dirs, std::vector<std::string>{(dir_ / "point_1").string()});
  EXPECT_DOUBLE_EQ((*curves)[0].points[0].y, 0.6);
  // A number matches the same number however it is written ("0.10" is the config's 0.1).
  options.where = {"algorithm.lr=0.10", "seed=2.0"};
  auto written_otherwise = LoadCurves({dir_.string()}, options);
  ASSERT_TRUE(written_otherwise.ok()) << written_otherwise.status();
  ASSERT_EQ(written_otherwise->size(), 1u);
  EXPECT_EQ((*written_otherwise)[0].run_dirs, std::vector<std::string>{(dir_ / "point_1").string()});
  options.where = {"algorithm.lr=0.5"};
  auto none = LoadCurves({dir_.string()}, options);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no run matches --where algorithm.lr=0.5"),
            std::string::npos);
}

TEST_F(RunCurvesTest, AConfigKeyOnXGivesEachRunOnePointItsFinalError) {
  CurveOptions options;
  options.x_key = "algorithm.lr";
  options.y = "test_error";  // 1 - test_accuracy
  auto curves = LoadCurves({dir_.string()}, options);
  ASSERT_TRUE(curves.ok()) << curves.status();
  ASSERT_EQ(curves->size(), 1u);  // the key on x does not set curves apart
  const std::vector<CurvePoint>& points = (*curves)[0].points;
  ASSERT_EQ(points.size(), 2u);
  // lr 0.1: final accuracies 0.8, 0.8, 0.9 -> errors 0.2, 0.2, 0.1.
  EXPECT_DOUBLE_EQ(points[0].x, 0.1);
  EXPECT_NEAR(points[0].y, 0.5 / 3.0, 1e-12);
  EXPECT_NEAR(points[0].high - points[0].y, std::sqrt(1.0 / 300.0), 1e-12);
  EXPECT_EQ(points[0].runs, 3);
  EXPECT_EQ(points[0].round, 20);
  // lr 0.2: round 20 is NaN, so its final finite value is round 10's 0.4.
  EXPECT_DOUBLE_EQ(points[1].x, 0.2);
  EXPECT_NEAR(points[1].y, 0.6, 1e-12);
  EXPECT_EQ(points[1].round, 10);

  options.x_key = "algorithm.name";
  auto text = LoadCurves({dir_.string()}, options);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("algorithm.name: 'fedavg' is not a number"),
            std::string::npos)
      << text.status();
  options.x_key = "privacy.epsilon";
  auto absent = LoadCurves({dir_.string()}, options);
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("has no key 'privacy.epsilon' (--x-key)"),
            std::string::npos)
      << absent.status();
}

TEST_F(RunCurvesTest, CurveByJoinsRunsThatDifferInOtherKeys) {
  CurveOptions options;
  options.curve_by = {"algorithm.name"};  // lr 0.1 and 0.2 in one curve
  auto curves = LoadCurves({dir_.string()}, options);
  ASSERT_TRUE(curves.ok()) << curves.status();
  ASSERT_EQ(curves->size(), 1u);
  EXPECT_EQ((*curves)[0].label, "fedavg");  // the one curve: named by its algorithm
  EXPECT_NEAR((*curves)[0].points[0].y, (0.5 + 0.6 + 0.7 + 0.4) / 4, 1e-12);
  EXPECT_EQ((*curves)[0].points[0].runs, 4);
  options.curve_by = {"privacy.epsilon"};
  auto absent = LoadCurves({dir_.string()}, options);
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("--curve-by privacy.epsilon"), std::string::npos);
}

TEST_F(RunCurvesTest, ErrorsNameTheRunAndTheProblem) {
  CurveOptions options;
  options.y = "val_accuracy";
  auto missing = LoadCurves({dir_.string()}, options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("has no column 'val_accuracy' (it has: round, "
                                            "test_accuracy, epsilon)"),
            std::string::npos)
      << missing.status();
  auto nothing = LoadCurves({(dir_ / "absent").string()}, CurveOptions{});
  EXPECT_FALSE(nothing.ok());
  std::ofstream(dir_ / "point_1" / "metrics.csv") << "round,test_accuracy,epsilon\n10,high,1\n";
  auto malformed = LoadCurves({dir_.string()}, CurveOptions{});
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("point_1/metrics.csv:2: 'high' is not a number"),
            std::string::npos)
      << malformed.status();
}

TEST_F(RunCurvesTest, ALogarithmicXNeedsPositiveValues) {
  Curve curve{"c",
              {"run"},
              {CurvePoint{1, 0.0, 0.5, 0.5, 0.5, 1}, CurvePoint{2, 1.0, 0.6, 0.6, 0.6, 1}}};
  PlotOptions options;
  options.out = (dir_ / "log.png").string();
  options.log_x = true;
  absl::Status drawn = PlotCurves({curve}, options);
  ASSERT_EQ(drawn.code(), absl::StatusCode::kInvalidArgument) << drawn;
  EXPECT_NE(drawn.message().find("--log-x: c has a point at x = 0"), std::string::npos) << drawn;
  EXPECT_FALSE(fs::exists(dir_ / "log.png"));
}

TEST(StudentT975Test, MatchesTheTable) {
  EXPECT_DOUBLE_EQ(StudentT975(1), 12.706);
  EXPECT_DOUBLE_EQ(StudentT975(2), 4.303);
  EXPECT_DOUBLE_EQ(StudentT975(30), 2.042);
  EXPECT_DOUBLE_EQ(StudentT975(1000), 1.96);
  EXPECT_TRUE(std::isnan(StudentT975(0)));
}

}  // namespace
}  // namespace fedsilo
