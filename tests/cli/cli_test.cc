// The fedsilo binary as a user meets it: real processes, real files. Bad input must give a
// one-line error naming the file, key/line or CSV row/column, and exit status 2.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/data/data_schema.h"
#include "tests/testing/loopback.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using testing::FreshTempDir;
using testing::ReadFile;
using testing::RunFedsilo;
using testing::WriteFile;

// A small valid CSV experiment: 60 records, label 'y', one categorical column.
std::string SmallCsv() {
  std::string csv = "x1,x2,color,y\n";
  for (int i = 0; i < 60; ++i) {
    csv += std::to_string(i % 7) + "," + std::to_string((i * 3) % 11) + "," +
           (i % 2 ? "red" : "blue") + "," + (i % 3 ? "yes" : "no") + "\n";
  }
  return csv;
}

std::string CsvConfig(const std::string& extra_data = "", const std::string& extra = "") {
  return "seed: 3\n"
         "data:\n"
         "  dataset: csv\n"
         "  train: train.csv\n"
         "  label: y\n"
         "  positive: 'yes'\n"
         "  categorical: [color]\n" +
         extra_data +
         "partition:\n"
         "  silos: 3\n"
         "algorithm:\n"
         "  name: fedavg\n"
         "  rounds: 3\n"
         "  batch_size: 4\n" +
         extra;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    WriteFile(dir_ / "train.csv", SmallCsv());
  }
  std::string Config(const std::string& yaml) {
    WriteFile(dir_ / "exp.yaml", yaml);
    return (dir_ / "exp.yaml").string();
  }
  std::filesystem::path dir_;
};

TEST_F(CliTest, VersionAndHelp) {
  auto version = RunFedsilo("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.output.find("fedsilo " FEDSILO_VERSION), std::string::npos) << version.output;
  auto help = RunFedsilo("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("run"), std::string::npos);
}

TEST_F(CliTest, ValidCsvRunWritesTheRunDirectory) {
  const auto out = dir_ / "out";
  auto result = RunFedsilo("run " + Config(CsvConfig()) + " --quiet --out " + out.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* file : {"config.yaml", "metrics.csv", "silos.csv", "summary.json", "model.bin"}) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  }
  const std::string metrics = testing::ReadFile(out / "metrics.csv");
  EXPECT_EQ(metrics.rfind("round,train_loss,test_loss,test_accuracy,epsilon", 0), 0u) << metrics;
  // model.json says what model.bin holds: x1, x2 and the one-hot color columns, then the bias of
  // a logistic model (5 numbers), in model.bin's order.
  const auto about = nlohmann::json::parse(ReadFile(out / "model.json"));
  EXPECT_EQ(about["model"], "logistic");
  EXPECT_EQ(about["num_parameters"], 5);
  EXPECT_EQ(about["features"],
            nlohmann::json::array({"x1", "x2", "color=blue", "color=red"}));
  EXPECT_EQ(about["classes"], nlohmann::json::array({"no", "yes"}));
  EXPECT_NE(about["layout"].get<std::string>().find("[w_0 .. w_{d-1}, b] with d = 4"),
            std::string::npos);
  EXPECT_EQ(testing::ReadModel(out / "model.bin").size(), 5u);
}

// A header-only test file is an empty test split (docs/config.md): allowed for a silo's own files,
// but `fedsilo run` evaluates on the test split, so it stops with exit 2 and says so.
TEST_F(CliTest, AHeaderOnlyTestFileStopsARunWithANamedError) {
  WriteFile(dir_ / "test.csv", "x1,x2,color,y\n");
  auto result = RunFedsilo("run " + Config(CsvConfig("  test: test.csv\n")) + " --quiet --out " +
                           (dir_ / "out").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("data: the test split of 'csv' is empty (a run evaluates on the "
                               "pooled test split)"),
            std::string::npos)
      << result.output;
}

// A run's saved config.yaml reruns as it is from any working directory (every path in it is
// absolute) and gives the same model.
TEST_F(CliTest, TheSavedConfigRerunsFromAnotherDirectory) {
  const auto out = dir_ / "first";
  auto first = RunFedsilo("run " + Config(CsvConfig()) + " --quiet --out " + out.string());
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string saved = ReadFile(out / "config.yaml");
  EXPECT_NE(saved.find("  train: " + (dir_ / "train.csv").string()), std::string::npos) << saved;
  EXPECT_NE(saved.find("  dir: /"), std::string::npos) << saved;
  const std::string rerun = "cd / && '" + std::string(FEDSILO_BINARY_PATH) + "' run '" +
                            (out / "config.yaml").string() + "' --quiet --out '" +
                            (dir_ / "again").string() + "' > /dev/null 2>&1";
  ASSERT_EQ(std::system(rerun.c_str()), 0) << rerun;
  EXPECT_EQ(ReadFile(dir_ / "again" / "model.bin"), ReadFile(out / "model.bin"));
}

// Not on a terminal (a pipe, as in a log): a progress line at the first round, then at most one
// every 5 s, and one at the last round, each with the rate, the time left, the last metrics and
// epsilon; --quiet prints none.
TEST_F(CliTest, ProgressInALogIsALineEveryFewSecondsAndAtTheEnd) {
  const std::string config = Config(CsvConfig()) +
                             " --set algorithm.rounds=400 --set output.eval_every=150";
  const auto start = std::chrono::steady_clock::now();
  auto result = RunFedsilo("run " + config + " --out " + (dir_ / "out").string());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<std::string> lines;
  std::istringstream in(result.output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("round ", 0) == 0) lines.push_back(line);
  }
  ASSERT_GE(lines.size(), 2u) << result.output;
  EXPECT_LE(static_cast<double>(lines.size()), 2.0 + seconds / 5.0) << result.output;
  EXPECT_THAT(lines.front(), ::testing::StartsWith("round 1/400 | "));
  EXPECT_THAT(lines.front(), ::testing::HasSubstr("not evaluated yet"));
  EXPECT_THAT(lines.back(),
              ::testing::MatchesRegex("round 400/400 \\| [0-9.e+]+ rounds/s \\| 0\\.0s left \\| "
                                      "train loss [0-9.]+ \\| test acc [0-9.]+ \\(round 400\\) "
                                      "\\| eps [a-z0-9.]+"));
  EXPECT_EQ(result.output.find('\r'), std::string::npos);  // no in-place redraw in a log
  auto quiet = RunFedsilo("run " + config + " --quiet --out " + (dir_ / "quiet").string());
  ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("\nround "), std::string::npos) << quiet.output;
  EXPECT_NE(quiet.output.rfind("round ", 0), 0u) << quiet.output;
}

TEST_F(CliTest, MissingConfigFile) {
  auto result = RunFedsilo("run /nonexistent/exp.yaml");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("/nonexistent/exp.yaml"), std::string::npos) << result.output;
}

TEST_F(CliTest, UnknownKeyNamesFileLineAndKey) {
  auto result = RunFedsilo("run " + Config(CsvConfig("", "  lrr: 0.1\n")));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("exp.yaml:14"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("algorithm.lrr"), std::string::npos) << result.output;
}

TEST_F(CliTest, WrongTypeAndBadValues) {
  auto wrong_type = RunFedsilo("run " + Config(CsvConfig("", "  lr: fast\n")));
  EXPECT_EQ(wrong_type.exit_code, 2);
  EXPECT_NE(wrong_type.output.find("algorithm.lr"), std::string::npos) << wrong_type.output;
  auto epsilon = RunFedsilo("run " + Config(CsvConfig() + "privacy:\n  epsilon: 0\n"));
  EXPECT_EQ(epsilon.exit_code, 2);
  EXPECT_NE(epsilon.output.find("privacy.epsilon"), std::string::npos) << epsilon.output;
  auto set = RunFedsilo("run " + Config(CsvConfig()) + " --set algorithm.rounds=-1");
  EXPECT_EQ(set.exit_code, 2);
  EXPECT_NE(set.output.find("algorithm.rounds"), std::string::npos) << set.output;
}

TEST_F(CliTest, LabelColumnThatDoesNotExist) {
  auto result = RunFedsilo("run " + Config(CsvConfig()) + " --set data.label=income");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("income"), std::string::npos) << result.output;
}

TEST_F(CliTest, NonNumericValueNamesRowAndColumn) {
  std::string csv = SmallCsv();
  csv.replace(csv.find("\n3,9,red"), 8, "\nabc,9,red");  // data row 4 = line 5
  WriteFile(dir_ / "train.csv", csv);
  auto result = RunFedsilo("run " + Config(CsvConfig()));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("train.csv:5"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("x1"), std::string::npos) << result.output;
}

TEST_F(CliTest, MoreSilosThanRecords) {
  auto result = RunFedsilo("run " + Config(CsvConfig()) + " --set partition.silos=500");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("silos"), std::string::npos) << result.output;
}

// A test file with a header and no rows is fine for a silo's own files, but a thread-mode run
// evaluates on the pooled test split and says so.
TEST_F(CliTest, RunRefusesAnEmptyTestSplit) {
  WriteFile(dir_ / "empty_test.csv", "x1,x2,color,y\n");
  auto result = RunFedsilo("run " + Config(CsvConfig("  test: empty_test.csv\n")) +
                           " --quiet --out " + (dir_ / "run").string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("the test split of 'csv' is empty"), std::string::npos)
      << result.output;
}

TEST_F(CliTest, UnknownSubcommandAndOption) {
  EXPECT_EQ(RunFedsilo("frobnicate").exit_code, 2);
  EXPECT_EQ(RunFedsilo("run " + Config(CsvConfig()) + " --thread 2").exit_code, 2);
}

// `fedsilo sweep`: one run per grid point, first axis slowest, one table; the swept values
// reach the runs (a run's resolved config.yaml shows them).
// A sweep of a personalized run carries the personalized accuracies of each point's summary,
// both when it runs the point and when --resume reads the finished point back.
TEST_F(CliTest, SweepTablesCarryThePersonalizedAccuracies) {
  const std::string config =
      Config(CsvConfig("", "  personalize_steps: 1\n  alpha: 0.1\n"));
  const auto out = dir_ / "sweep";
  const std::string command = "sweep " + config + " --set-list algorithm.lr=0.1,0.2 --out " +
                              out.string();
  for (const std::string& extra : {std::string(), std::string(" --resume")}) {
    auto result = RunFedsilo(command + extra);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    std::string header;
    const auto rows = testing::ReadCsvRows(out / "sweep.csv", &header);
    const size_t at = header.find(",personalized_accuracy_mean,");
    ASSERT_NE(at, std::string::npos) << header;
    const auto column = static_cast<size_t>(std::count(header.begin(), header.begin() + at, ',') + 1);
    ASSERT_EQ(rows.size(), 2u) << extra;
    for (int point = 0; point < 2; ++point) {
      ASSERT_GT(rows[point].size(), column) << extra;
      const std::string& cell = rows[point][column];
      const auto summary = nlohmann::json::parse(
          testing::ReadFile(out / ("point_" + std::to_string(point)) / "summary.json"));
      ASSERT_FALSE(cell.empty()) << extra;
      EXPECT_NEAR(std::stod(cell), summary["final"]["personalized_accuracy_mean"].get<double>(),
                  1e-9)  // the table's 10 significant digits
          << extra;
    }
  }
}

TEST_F(CliTest, SweepRunsTheGridAndWritesOneTable) {
  const std::string config = Config(CsvConfig());
  const auto out = dir_ / "sweep";
  auto result = RunFedsilo("sweep " + config + " --set-list algorithm.lr=0.1,0.2" +
                           " --set-list algorithm.rounds=1,2 --set algorithm.batch_size=5 --out " +
                           out.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::istringstream table(testing::ReadFile(out / "sweep.csv"));
  std::string line;
  std::getline(table, line);
  EXPECT_EQ(line,
            "algorithm.lr,algorithm.rounds,rounds_completed,test_accuracy,test_loss,epsilon,"
            "test_error,dp_violation,eo_violation,eopp_violation,val_accuracy,val_loss,"
            "val_dp_violation,val_eo_violation,val_eopp_violation,personalized_accuracy_mean,"
            "personalized_accuracy_min,personalized_accuracy_p10,personalized_accuracy_median");
  std::vector<std::string> prefixes;
  while (std::getline(table, line)) prefixes.push_back(line.substr(0, line.find(',', 4) + 2));
  EXPECT_EQ(prefixes, (std::vector<std::string>{"0.1,1,1", "0.1,2,2", "0.2,1,1", "0.2,2,2"}));
  const std::string resolved = testing::ReadFile(out / "point_2" / "config.yaml");
  EXPECT_NE(resolved.find("lr: 0.2"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("batch_size: 5"), std::string::npos) << resolved;
  // A malformed axis is bad input.
  EXPECT_EQ(RunFedsilo("sweep " + config + " --set-list algorithm.lr --out " + out.string())
                .exit_code,
            2);
  // A non-empty --out is refused: an older sweep's points would mix with this one's.
  auto again = RunFedsilo("sweep " + config + " --set-list algorithm.lr=0.1 --out " + out.string());
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("exists and is not an empty directory"), std::string::npos)
      << again.output;
}

// The rows of a CSV file (header included), split at commas.
std::vector<std::vector<std::string>> CsvRows(const std::filesystem::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(testing::ReadFile(path));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream cells_in(line);
    for (std::string cell; std::getline(cells_in, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(cells);
  }
  return rows;
}

// --jobs 2 writes the serial sweep's bytes; --resume reruns only the unfinished point and
// refuses another grid; sweep_summary.csv holds the mean and sample std over seeds of sweep.csv's
// rows (recomputed here).
TEST_F(CliTest, SweepInParallelResumesAndAveragesOverSeeds) {
  const std::string config = Config(CsvConfig());
  const std::string grid = " --set-list algorithm.lr=0.1,0.3 --set-list seed=1,2,3"
                           " --set algorithm.batch_size=5 --set algorithm.rounds=4";
  auto serial = RunFedsilo("sweep " + config + grid + " --out " + (dir_ / "serial").string());
  ASSERT_EQ(serial.exit_code, 0) << serial.output;
  const fs::path out = dir_ / "parallel";
  auto parallel = RunFedsilo("sweep " + config + grid + " --jobs 2 --out " + out.string());
  ASSERT_EQ(parallel.exit_code, 0) << parallel.output;
  const std::string table = testing::ReadFile(out / "sweep.csv");
  EXPECT_EQ(table, testing::ReadFile(dir_ / "serial" / "sweep.csv"));
  EXPECT_EQ(testing::ReadFile(out / "sweep_summary.csv"),
            testing::ReadFile(dir_ / "serial" / "sweep_summary.csv"));
  EXPECT_EQ(std::count(parallel.output.begin(), parallel.output.end(), '\n'), 7)  // 6 + summary
      << parallel.output;

  // The summary: one row per learning rate, over its three seeds.
  const auto rows = CsvRows(out / "sweep.csv");
  const auto summary = CsvRows(out / "sweep_summary.csv");
  ASSERT_EQ(rows.size(), 7u);
  ASSERT_EQ(summary.size(), 3u);
  EXPECT_EQ(summary[0][0], "algorithm.lr");
  EXPECT_EQ(summary[0][1], "runs");
  EXPECT_EQ(summary[0][2], "test_accuracy_mean");
  EXPECT_EQ(summary[0][3], "test_accuracy_std");
  for (int g = 0; g < 2; ++g) {
    double sum = 0.0, squares = 0.0;
    for (int r = 1 + 3 * g; r <= 3 + 3 * g; ++r) sum += std::stod(rows[r][3]);  // test_accuracy
    const double mean = sum / 3.0;
    for (int r = 1 + 3 * g; r <= 3 + 3 * g; ++r) {
      squares += (std::stod(rows[r][3]) - mean) * (std::stod(rows[r][3]) - mean);
    }
    EXPECT_EQ(summary[1 + g][0], g == 0 ? "0.1" : "0.3");
    EXPECT_EQ(summary[1 + g][1], "3");
    EXPECT_NEAR(std::stod(summary[1 + g][2]), mean, 1e-9);
    EXPECT_NEAR(std::stod(summary[1 + g][3]), std::sqrt(squares / 2.0), 1e-9);
    EXPECT_EQ(summary[1 + g][6], "inf");  // epsilon_mean of a run that is not private
  }

  // A point left unfinished (no summary.json) is the only one run again.
  fs::remove(out / "point_4" / "summary.json");
  fs::remove(out / "sweep.csv");
  const auto untouched = fs::last_write_time(out / "point_0" / "metrics.csv");
  auto resumed = RunFedsilo("sweep " + config + grid + " --resume --out " + out.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("sweep: point 4 done"), std::string::npos) << resumed.output;
  EXPECT_EQ(resumed.output.find("sweep: point 0 done"), std::string::npos) << resumed.output;
  EXPECT_EQ(fs::last_write_time(out / "point_0" / "metrics.csv"), untouched);
  EXPECT_EQ(testing::ReadFile(out / "sweep.csv"), table);
  // Another grid in the same folder is refused, and so is a fresh sweep there.
  auto other = RunFedsilo("sweep " + config + " --set-list algorithm.lr=0.1,0.3 --set-list "
                          "seed=1,2,4 --set algorithm.batch_size=5 --set algorithm.rounds=4 "
                          "--resume --out " + out.string());
  EXPECT_EQ(other.exit_code, 2) << other.output;
  EXPECT_NE(other.output.find("holds another grid (point 2 differs"), std::string::npos)
      << other.output;
  auto fresh = RunFedsilo("sweep " + config + grid + " --out " + out.string());
  EXPECT_EQ(fresh.exit_code, 2) << fresh.output;
  EXPECT_NE(fresh.output.find("or continue that sweep with --resume"), std::string::npos)
      << fresh.output;
}

// A PNG's width and height, from its IHDR chunk (bytes 16 to 23, big-endian).
std::pair<int, int> PngSize(const std::filesystem::path& path) {
  const std::string bytes = testing::ReadFile(path);
  if (bytes.size() < 24 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {-1, -1};
  const auto word = [&](size_t at) {
    int value = 0;
    for (size_t i = at; i < at + 4; ++i) value = value * 256 + static_cast<unsigned char>(bytes[i]);
    return value;
  };
  return {word(16), word(20)};
}

// `fedsilo plot` on a real sweep: its curves' last points equal the sweep's own summary (mean
// and standard deviation over seeds, computed by the sweep), and it draws a PNG of the size asked
// and an SVG whose legend names the curves.
TEST_F(CliTest, PlotAveragesASweepsSeedsAsItsSummaryDoes) {
  const std::string config = Config(CsvConfig());
  const fs::path out = dir_ / "sweep";
  auto sweep = RunFedsilo("sweep " + config + " --set-list algorithm.lr=0.1,0.3 --set-list "
                          "seed=1,2,3 --set algorithm.batch_size=5 --set algorithm.rounds=4 "
                          "--quiet --out " + out.string());
  ASSERT_EQ(sweep.exit_code, 0) << sweep.output;
  auto plot = RunFedsilo("plot " + out.string() + " --out " + (dir_ / "curves.png").string() +
                         " --width 640 --height 480 --title 'lr sweep'");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_EQ(PngSize(dir_ / "curves.png"), std::make_pair(640, 480));
  EXPECT_NE(plot.output.find("2 curves from 6 runs"), std::string::npos) << plot.output;

  const auto summary = CsvRows(out / "sweep_summary.csv");  // algorithm.lr,runs,mean,std,...
  const auto points = CsvRows(dir_ / "curves.csv");         // label,x,y,low,high,runs
  ASSERT_EQ(summary.size(), 3u);
  for (int g = 0; g < 2; ++g) {
    const std::string label = std::string("algorithm.lr=") + (g == 0 ? "0.1" : "0.3");
    const std::vector<std::string>* last = nullptr;
    for (const auto& row : points) {
      if (row[0] == label) last = &row;
    }
    ASSERT_NE(last, nullptr) << label;
    EXPECT_EQ((*last)[1], "4");  // the last round
    EXPECT_EQ((*last)[5], "3");
    EXPECT_NEAR(std::stod((*last)[2]), std::stod(summary[1 + g][2]), 1e-9) << label;
    EXPECT_NEAR(std::stod((*last)[4]) - std::stod((*last)[2]), std::stod(summary[1 + g][3]), 1e-9)
        << label;
  }

  auto svg = RunFedsilo("plot " + out.string() + " --y test_loss --band ci95 --out " +
                        (dir_ / "epsilon.svg").string());
  ASSERT_EQ(svg.exit_code, 0) << svg.output;
  const std::string drawing = testing::ReadFile(dir_ / "epsilon.svg");
  EXPECT_NE(drawing.find("<svg"), std::string::npos);
  EXPECT_NE(drawing.find("algorithm.lr=0.3 (3 runs)"), std::string::npos);

  // A config key on x: one point per lr, the final test error (1 - the summary's mean accuracy,
  // same std), and a reference line that the table lists without x.
  auto by_lr = RunFedsilo("plot " + out.string() + " --x-key algorithm.lr --y test_error "
                          "--log-x --reference 'plain run=0.25' --out " +
                          (dir_ / "by_lr.svg").string());
  ASSERT_EQ(by_lr.exit_code, 0) << by_lr.output;
  EXPECT_NE(by_lr.output.find("1 curves from 6 runs"), std::string::npos) << by_lr.output;
  const auto by_lr_points = CsvRows(dir_ / "by_lr.csv");  // label,x,y,low,high,runs
  ASSERT_EQ(by_lr_points.size(), 4u);  // header, lr 0.1, lr 0.3, the reference
  for (int g = 0; g < 2; ++g) {
    const auto& row = by_lr_points[1 + g];
    EXPECT_EQ(row[1], g == 0 ? "0.1" : "0.3");
    EXPECT_NEAR(std::stod(row[2]), 1.0 - std::stod(summary[1 + g][2]), 1e-9);
    EXPECT_NEAR(std::stod(row[4]) - std::stod(row[2]), std::stod(summary[1 + g][3]), 1e-9);
  }
  EXPECT_EQ(by_lr_points[3][0], "plain run");
  EXPECT_EQ(by_lr_points[3][1], "");
  EXPECT_EQ(by_lr_points[3][2], "0.25");
  EXPECT_NE(testing::ReadFile(dir_ / "by_lr.svg").find("plain run"), std::string::npos);
  auto infinite_x = RunFedsilo("plot " + out.string() + " --x epsilon --out " +
                               (dir_ / "z.png").string());  // not private: epsilon is inf
  EXPECT_EQ(infinite_x.exit_code, 2) << infinite_x.output;
  EXPECT_NE(infinite_x.output.find("(with a finite x)"), std::string::npos) << infinite_x.output;
  auto bad_reference = RunFedsilo("plot " + out.string() + " --reference 'plain=high' --out " +
                                  (dir_ / "r.png").string());
  EXPECT_EQ(bad_reference.exit_code, 2);
  EXPECT_NE(bad_reference.output.find("--reference plain: 'high' is not a number"),
            std::string::npos)
      << bad_reference.output;

  auto bad = RunFedsilo("plot " + out.string() + " --y no_such_column --out " +
                        (dir_ / "bad.png").string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("has no column 'no_such_column'"), std::string::npos) << bad.output;
  auto infinite = RunFedsilo("plot " + out.string() + " --y epsilon --out " +
                             (dir_ / "epsilon.png").string());
  EXPECT_EQ(infinite.exit_code, 2);
  EXPECT_NE(infinite.output.find("no finite value of 'epsilon'"), std::string::npos)
      << infinite.output;
  EXPECT_EQ(RunFedsilo("plot " + out.string() + " --out " + (dir_ / "x.pdf").string()).exit_code,
            2);
}

// The whole grid is checked before the first run: a bad value in the last point fails at once,
// naming the point, and nothing has run.
TEST_F(CliTest, SweepChecksTheWholeGridBeforeTheFirstRun) {
  const std::string config = Config(CsvConfig());
  const auto out = dir_ / "grid";
  auto result = RunFedsilo("sweep " + config + " --set-list algorithm.lr=0.1,0.2,-1 --out " +
                           out.string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("sweep point 2 (algorithm.lr=-1): --set algorithm.lr: must be > 0"),
            std::string::npos)
      << result.output;
  EXPECT_FALSE(std::filesystem::exists(out / "point_0"));
}

// `fedsilo check-data`: what a silo's file holds when read by the shared schema (rows read and
// dropped with the reason, records, features, class counts, the schema's digest), or the first
// problem naming file, line, column and value, with exit 2.
TEST_F(CliTest, CheckDataReportsWhatAFileHoldsByTheSchema) {
  WriteFile(dir_ / "schema.yaml",
            "features:\n  - {name: x1, type: numeric}\n"
            "  - {name: color, type: categorical, levels: [blue, red]}\n"
            "label: {name: y, classes: [\"no\", \"yes\"]}\n");
  WriteFile(dir_ / "own.csv", "x1,colour,y\n1,blue,no\n?,red,yes\n3,rot,yes\n4,red,yes\n");
  const std::string base = "check-data --schema " + (dir_ / "schema.yaml").string() +
                           " --rename colour=color --data ";
  auto ok = RunFedsilo(base + (dir_ / "own.csv").string() + " --recode color:rot=red");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("own.csv: 4 rows read, 1 dropped (missing: x1 1)"), std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find("3 records, 3 features, classes: no 1, yes 2"), std::string::npos)
      << ok.output;
  // Without the recode, 'rot' is a level the schema does not have.
  auto bad = RunFedsilo(base + (dir_ / "own.csv").string());
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("own.csv:4: column 'color': 'rot' is not one of its levels (blue, "
                            "red)"),
            std::string::npos)
      << bad.output;
}

// `fedsilo schema`: a first schema from a csv config and its reference file: numeric centre and
// scale are the reference's mean and population deviation (by hand: 3 and sqrt(8/3)), levels and
// classes its sorted values ([other, positive] with data.positive); check-data reads the reference
// by it, with the digest the schema command printed.
TEST_F(CliTest, SchemaWritesAFirstSchemaFromAReferenceFile) {
  WriteFile(dir_ / "ref.csv", "x1,color,y\n1,blue,no\n3,red,yes\n5,red,yes\n");
  WriteFile(dir_ / "ref.yaml", "data: {dataset: csv, train: ref.csv, label: y, positive: \"yes\", "
                               "categorical: [color], sensitive: color}\n");
  auto written = RunFedsilo("schema " + (dir_ / "ref.yaml").string() + " --out " +
                            (dir_ / "schema.yaml").string());
  ASSERT_EQ(written.exit_code, 0) << written.output;
  const auto schema = LoadDataSchema((dir_ / "schema.yaml").string());
  ASSERT_TRUE(schema.ok()) << schema.status();
  ASSERT_EQ(schema->features.size(), 2u);
  EXPECT_EQ(schema->features[0].name, "x1");
  EXPECT_DOUBLE_EQ(schema->features[0].center, 3.0);
  EXPECT_DOUBLE_EQ(schema->features[0].scale, std::sqrt(8.0 / 3.0));
  EXPECT_EQ(schema->features[1].levels, (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(schema->classes, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(schema->groups, (std::vector<std::string>{"blue", "red"}));
  const std::string digest = DataSchemaDigest(*schema);
  EXPECT_NE(written.output.find("(digest " + digest + ")"), std::string::npos) << written.output;
  auto checked = RunFedsilo("check-data --schema " + (dir_ / "schema.yaml").string() + " --data " +
                            (dir_ / "ref.csv").string());
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_NE(checked.output.find("groups: blue 1, red 2"), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("schema digest " + digest), std::string::npos) << checked.output;
}

}  // namespace
}  // namespace fedsilo
