// Tests of the CSV tokenizer, the tabular preprocessing and the `csv` loader, on small files
// written into a temporary directory; expected values are computed by hand.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <span>
#include <vector>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/rng.h"
#include "common/data/csv_loader.h"
#include "common/data/csv_reader.h"
#include "common/data/loader_registry.h"
#include "common/data/tabular.h"

namespace fedsilo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("fedsilo_csv_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string path = (path_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

 private:
  std::filesystem::path path_;
};

std::vector<std::vector<std::string>> Rows(const CsvRows& rows) {
  std::vector<std::vector<std::string>> out;
  for (size_t r = 0; r < rows.num_rows(); ++r) {
    out.emplace_back(rows.row(r).begin(), rows.row(r).end());
  }
  return out;
}

// ------------------------------------------------------------------------------ tokenizer

TEST(CsvReaderTest, CrlfBlankLinesAndTrailingEmptyLine) {
  auto rows = ParseCsv("a,b\r\n1,2\r\n\r\n   \r\n3,4\r\n\r\n", "t.csv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(Rows(*rows), ElementsAre(ElementsAre("a", "b"), ElementsAre("1", "2"),
                                       ElementsAre("3", "4")));
  EXPECT_THAT(rows->line, ElementsAre(1, 2, 5));
}

TEST(CsvReaderTest, CommaSpaceSeparatorsAreTrimmed) {
  auto rows = ParseCsv("39, State-gov, 77516\n50,  Private , 83311", "adult.data");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(Rows(*rows), ElementsAre(ElementsAre("39", "State-gov", "77516"),
                                       ElementsAre("50", "Private", "83311")));
}

TEST(CsvReaderTest, QuotedFieldsKeepDelimitersQuotesAndNewlines) {
  auto rows = ParseCsv("x,\"a, b\",\"say \"\"hi\"\"\"\ny, \"two\nlines\" ,\"\"\nz,1,2\n", "q.csv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(Rows(*rows), ElementsAre(ElementsAre("x", "a, b", "say \"hi\""),
                                       ElementsAre("y", "two\nlines", ""),
                                       ElementsAre("z", "1", "2")));
  EXPECT_THAT(rows->line, ElementsAre(1, 2, 4));
}

TEST(CsvReaderTest, OtherDelimitersAndMergedWhitespace) {
  CsvOptions semicolon;
  semicolon.delimiter = ';';
  auto rows = ParseCsv("a;b c;\n", "s.csv", semicolon);
  ASSERT_TRUE(rows.ok());
  EXPECT_THAT(Rows(*rows), ElementsAre(ElementsAre("a", "b c", "")));

  CsvOptions spaces;
  spaces.delimiter = ' ';
  spaces.merge_delimiters = true;
  rows = ParseCsv("A11 6  A34 \n  A12 48 A32\n", "german.data", spaces);
  ASSERT_TRUE(rows.ok());
  EXPECT_THAT(Rows(*rows), ElementsAre(ElementsAre("A11", "6", "A34"),
                                       ElementsAre("A12", "48", "A32")));
}

TEST(CsvReaderTest, SkipLines) {
  CsvOptions options;
  options.skip_lines = 1;
  auto rows = ParseCsv("|1x3 Cross validator\n1,2\n", "adult.test", options);
  ASSERT_TRUE(rows.ok());
  EXPECT_THAT(Rows(*rows), ElementsAre(ElementsAre("1", "2")));
  EXPECT_THAT(rows->line, ElementsAre(2));
}

TEST(CsvReaderTest, UnterminatedQuoteNamesFileAndLine) {
  auto rows = ParseCsv("a,b\n1,2\n3,\"open\n4,5\n", "broken.csv");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("broken.csv:3: unterminated quoted field"));
}

TEST(CsvReaderTest, GarbageAfterClosingQuote) {
  auto rows = ParseCsv("a,b\n\"x\"y,2\n", "g.csv");
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("g.csv:2:"));
}

TEST(CsvReaderTest, MissingFileIsNotFound) {
  auto rows = ReadCsvFile("/nonexistent/dir/x.csv");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(rows.status().message(), HasSubstr("/nonexistent/dir/x.csv"));
}

TEST(ParseNumberTest, AcceptsNumbersOnly) {
  EXPECT_EQ(*ParseNumber("1"), 1.0);
  EXPECT_EQ(*ParseNumber("-2.5e3"), -2500.0);
  EXPECT_EQ(*ParseNumber("+4"), 4.0);
  EXPECT_EQ(*ParseNumber(".5"), 0.5);
  EXPECT_FALSE(ParseNumber("abc"));
  EXPECT_FALSE(ParseNumber("1x"));
  EXPECT_FALSE(ParseNumber(""));
  EXPECT_FALSE(ParseNumber("nan"));
  EXPECT_FALSE(ParseNumber("inf"));
  EXPECT_FALSE(ParseNumber("+-1"));
}

// ------------------------------------------------------------------------------ csv loader

DataConfig CsvConfig(const std::string& train, const std::string& test = "") {
  DataConfig config;
  config.dataset = "csv";
  config.csv.train = train;
  config.csv.test = test;
  return config;
}

TEST(CsvLoaderTest, OneHotAndStandardizationByHand) {
  TempDir dir;
  const std::string train = dir.Write("train.csv",
                                      "age,color,income,label\n"
                                      "1,red,10,yes\n"
                                      "2,blue,20,no\n"
                                      "3,red,30,yes\n");
  const std::string test = dir.Write("test.csv",
                                     "age,color,income,label\n"
                                     "4,green,20,no\n"
                                     "2,blue,40,yes\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "label";
  config.csv.positive = "yes";
  config.csv.categorical = {"color"};
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->name, "train.csv");
  EXPECT_THAT(data->train.feature_names, ElementsAre("age", "color=blue", "color=red", "income"));
  EXPECT_THAT(data->train.class_names, ElementsAre("no", "yes"));
  EXPECT_THAT(data->train.y, ElementsAre(1, 0, 1));
  EXPECT_THAT(data->test.y, ElementsAre(0, 1));
  EXPECT_EQ(data->train.num_classes, 2);
  EXPECT_FALSE(data->train.has_groups());
  // age: mean 2, population std sqrt(2/3); income: mean 20, std sqrt(200/3).
  const double s_age = std::sqrt(2.0 / 3.0), s_inc = std::sqrt(200.0 / 3.0);
  Matrix expected_train(3, 4);
  expected_train << -1 / s_age, 0, 1, -10 / s_inc,  //
      0, 1, 0, 0,                                   //
      1 / s_age, 0, 1, 10 / s_inc;
  EXPECT_TRUE(data->train.x.isApprox(expected_train, 1e-12)) << data->train.x;
  Matrix expected_test(2, 4);
  expected_test << 2 / s_age, 0, 0, 0,  // "green" was not seen in train: all zeros
      0, 1, 0, 20 / s_inc;
  EXPECT_TRUE(data->test.x.isApprox(expected_test, 1e-12)) << data->test.x;
}

TEST(CsvLoaderTest, MulticlassLabelsSortedNumericallyWhenNumbers) {
  TempDir dir;
  const std::string train = dir.Write("m.csv", "x,y\n1,10\n2,9\n3,2\n4,10\n");
  const std::string test = dir.Write("mt.csv", "x,y\n1,2\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "y";
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.class_names, ElementsAre("2", "9", "10"));
  EXPECT_THAT(data->train.y, ElementsAre(2, 1, 0, 2));
  EXPECT_THAT(data->test.y, ElementsAre(0));
}

TEST(CsvLoaderTest, ConstantColumnIsOnlyCentered) {
  TempDir dir;
  const std::string train = dir.Write("c.csv", "k,y\n5,a\n5,b\n");
  const std::string test = dir.Write("ct.csv", "k,y\n7,a\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "y";
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.x(0, 0), 0.0);
  EXPECT_EQ(data->test.x(0, 0), 2.0);
}

TEST(CsvLoaderTest, MissingValuesDropOrImpute) {
  TempDir dir;
  const std::string train = dir.Write("miss.csv",
                                      "a,c,y\n"
                                      "1,u,0\n"
                                      "?,v,1\n"
                                      "3,,0\n"
                                      "5,u,1\n"
                                      "7,v,?\n");  // missing label: always dropped
  const std::string test = dir.Write("miss_test.csv", "a,c,y\n?,?,1\n2,u,0\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "y";
  config.csv.categorical = {"c"};

  config.missing = MissingPolicy::kDrop;
  auto dropped = LoadData(config);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(dropped->train.size(), 2);  // rows 1 and 5
  EXPECT_EQ(dropped->test.size(), 1);
  EXPECT_THAT(dropped->train.feature_names, ElementsAre("a", "c=u"));

  config.missing = MissingPolicy::kImpute;
  auto imputed = LoadData(config);
  ASSERT_TRUE(imputed.ok()) << imputed.status();
  ASSERT_EQ(imputed->train.size(), 4);
  ASSERT_EQ(imputed->test.size(), 2);
  EXPECT_THAT(imputed->train.feature_names, ElementsAre("a", "c=missing", "c=u", "c=v"));
  // a: train values 1, 3, 5 -> mean 3, std sqrt(8/3); the missing one becomes the mean (0).
  const double s = std::sqrt(8.0 / 3.0);
  EXPECT_NEAR(imputed->train.x(0, 0), -2 / s, 1e-12);
  EXPECT_EQ(imputed->train.x(1, 0), 0.0);
  EXPECT_EQ(imputed->train.x(2, 1), 1.0);  // "" -> c=missing
  EXPECT_EQ(imputed->test.x(0, 0), 0.0);
  EXPECT_EQ(imputed->test.x(0, 1), 1.0);  // "?" -> c=missing
  EXPECT_NEAR(imputed->test.x(1, 0), -1 / s, 1e-12);
}

TEST(CsvLoaderTest, NonNumericValueNamesFileLineAndColumn) {
  TempDir dir;
  const std::string train =
      dir.Write("adult.data", "age,job,y\n39,clerk,0\n\n50,exec,1\nabc,exec,0\n");
  const std::string test = dir.Write("adult.test", "age,job,y\n1,clerk,0\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "y";
  config.csv.categorical = {"job"};
  auto data = LoadData(config);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(),
              HasSubstr("adult.data:5: column 'age': expected a number, got 'abc'"));
}

TEST(CsvLoaderTest, WrongFieldCountNamesFileAndLine) {
  TempDir dir;
  const std::string train = dir.Write("short.csv", "a,b,y\r\n1,2,0\r\n3,4\r\n");
  DataConfig config = CsvConfig(train);
  config.csv.label = "y";
  auto data = LoadData(config);
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(), HasSubstr("short.csv:3: expected 3 fields, got 2"));
}

TEST(CsvLoaderTest, UnknownColumnsAreReported) {
  TempDir dir;
  const std::string train = dir.Write("cols.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");
  DataConfig config = CsvConfig(train);
  config.csv.label = "income";
  auto data = LoadData(config);
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(), HasSubstr("cols.csv"));
  EXPECT_THAT(data.status().message(), HasSubstr("label column 'income' not found"));
  EXPECT_THAT(data.status().message(), HasSubstr("a, b, y"));

  config.csv.label = "y";
  config.csv.categorical = {"colour"};
  data = LoadData(config);
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(), HasSubstr("'colour'"));

  config.csv.categorical = {};
  config.csv.positive = ">50K";
  data = LoadData(config);
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(), HasSubstr("positive label '>50K'"));
}

TEST(CsvLoaderTest, MissingTrainFileIsNotFound) {
  DataConfig config = CsvConfig("/nonexistent/fedsilo/train.csv");
  config.csv.label = "y";
  auto data = LoadData(config);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr("/nonexistent/fedsilo/train.csv"));
}

TEST(CsvLoaderTest, NoHeaderNamesColumnsByIndexAndSemicolons) {
  TempDir dir;
  const std::string train = dir.Write("nh.csv", "1;a;x\n2;b;y\n3;a;x\n");
  const std::string test = dir.Write("nht.csv", "4;b;y\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.header = false;
  config.csv.delimiter = ";";
  config.csv.label = "2";
  config.csv.categorical = {"1"};
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.feature_names, ElementsAre("0", "1=a", "1=b"));
  EXPECT_THAT(data->train.class_names, ElementsAre("x", "y"));
  EXPECT_THAT(data->test.y, ElementsAre(1));
}

TEST(CsvLoaderTest, DuplicateHeaderNamesGetSuffixes) {
  TempDir dir;
  const std::string train = dir.Write("dup.csv", "s,s,y\n1,2,0\n3,4,1\n");
  const std::string test = dir.Write("dupt.csv", "s,s,y\n1,2,0\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "y";
  config.csv.drop = {"s.1"};
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.feature_names, ElementsAre("s"));
}

TEST(CsvLoaderTest, HeldOutSplitIsSeededAndSized) {
  TempDir dir;
  std::string text = "id,y\n";
  for (int i = 0; i < 50; ++i) text += std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  const std::string train = dir.Write("split.csv", text);
  DataConfig config = CsvConfig(train);
  config.csv.label = "y";
  config.csv.test_fraction = 0.2;
  config.seed = 7;
  auto a = LoadData(config);
  auto b = LoadData(config);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status();
  EXPECT_EQ(a->train.size(), 40);
  EXPECT_EQ(a->test.size(), 10);
  EXPECT_EQ(a->test.y, b->test.y);
  EXPECT_TRUE(a->test.x.isApprox(b->test.x));
  config.seed = 8;
  auto c = LoadData(config);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(a->test.x.isApprox(c->test.x));

  // The split is exactly the documented one: Rng(DeriveSeed(seed, "test-split")).Shuffle.
  auto rows = ReadCsvFile(train);
  ASSERT_TRUE(rows.ok());
  auto table = TableFromCsv(std::move(*rows), train, true);
  ASSERT_TRUE(table.ok());
  auto split = HoldOutSplit(*table, 0.2, DeriveSeed(7, "test-split"));
  ASSERT_TRUE(split.ok());
  std::vector<size_t> order(50);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(DeriveSeed(7, "test-split"));
  rng.Shuffle(std::span<size_t>(order));
  ASSERT_EQ(split->test.rows(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(split->test.at(i, 0), std::to_string(order[i]));
}

TEST(CsvLoaderTest, BadTestFractionAndDelimiter) {
  TempDir dir;
  const std::string train = dir.Write("f.csv", "a,y\n1,0\n2,1\n");
  DataConfig config = CsvConfig(train);
  config.csv.label = "y";
  config.csv.test_fraction = 1.5;
  EXPECT_EQ(LoadData(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.csv.test_fraction = 0.5;
  config.csv.delimiter = "::";
  auto data = LoadData(config);
  EXPECT_THAT(data.status().message(), HasSubstr("delimiter"));
}

TEST(CsvLoaderTest, SensitiveCategoricalAndThresholdRules) {
  TempDir dir;
  const std::string train = dir.Write("s.csv",
                                      "age,sex,y\n"
                                      "20,F,0\n"
                                      "30,M,1\n"
                                      "40,M,0\n"
                                      "50,F,1\n");
  const std::string test = dir.Write("st.csv", "age,sex,y\n36,F,0\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "y";
  config.csv.categorical = {"sex"};

  config.sensitive = "sex";
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_groups, 2);
  EXPECT_THAT(data->train.group_names, ElementsAre("F", "M"));
  EXPECT_THAT(data->train.group, ElementsAre(0, 1, 1, 0));
  EXPECT_THAT(data->test.group, ElementsAre(0));
  EXPECT_EQ(data->train.dim(), 3);  // the sensitive column stays a feature unless dropped

  config.csv.drop = {"sex"};
  config.csv.categorical = {};
  data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.dim(), 1);
  EXPECT_TRUE(data->train.has_groups());

  config.sensitive = "age>median";  // train median 35
  data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.group_names, ElementsAre("age<=35", "age>35"));
  EXPECT_THAT(data->train.group, ElementsAre(0, 0, 1, 1));
  EXPECT_THAT(data->test.group, ElementsAre(1));

  config.sensitive = "age>40";
  data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.group, ElementsAre(0, 0, 0, 1));

  config.sensitive = "age>old";
  EXPECT_EQ(LoadData(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.sensitive = "height";
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("sensitive column 'height'"));
}


// ------------------------------------------------------------------ files holding part of a dataset

TEST(CsvLoaderTest, StandardizeFalseKeepsNumbersAsRead) {
  TempDir dir;
  // Values that standardization would change; the last needs all 17 significant digits.
  const std::string train =
      dir.Write("p.csv", "a,b,y\n0.1,-3,0\n1e-300,7,1\n0.30000000000000004,-0,0\n");
  const std::string test = dir.Write("pt.csv", "a,b,y\n2.5,?,1\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "y";
  config.csv.standardize = false;
  config.missing = MissingPolicy::kImpute;
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->train.x.rows(), 3);
  EXPECT_EQ(data->train.x(0, 0), 0.1);
  EXPECT_EQ(data->train.x(1, 0), 1e-300);
  EXPECT_EQ(data->train.x(2, 0), 0.30000000000000004);
  EXPECT_EQ(data->train.x(0, 1), -3.0);
  EXPECT_EQ(data->train.x(1, 1), 7.0);
  EXPECT_TRUE(std::signbit(data->train.x(2, 1)));  // "-0" stays negative zero
  EXPECT_EQ(data->test.x(0, 0), 2.5);
  EXPECT_EQ(data->test.x(0, 1), 4.0 / 3.0);  // imputed: the train mean (-3 + 7 + 0) / 3, unscaled
}

TEST(CsvLoaderTest, FixedClassesNumberLabelsEvenWhenAFileLacksSome) {
  TempDir dir;
  // Only classes "3" and "1" occur; the list fixes four classes in its own order.
  const std::string train = dir.Write("c.csv", "x,label\n1,3\n2,1\n3,3\n");
  const std::string test = dir.Write("ct.csv", "x,label\n1,3\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "label";
  config.csv.classes = {"0", "1", "2", "3"};
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_classes, 4);
  EXPECT_THAT(data->train.class_names, ElementsAre("0", "1", "2", "3"));
  EXPECT_THAT(data->train.y, ElementsAre(3, 1, 3));
  EXPECT_THAT(data->test.y, ElementsAre(3));
  EXPECT_EQ(data->test.num_classes, 4);

  // A single class in a file is fine with the list (without it, it is an error).
  const std::string one = dir.Write("one.csv", "x,label\n1,2\n2,2\n");
  config.csv.train = one;
  config.csv.test = one;
  data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.y, ElementsAre(2, 2));
  config.csv.classes = {};
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("fewer than two classes"));
}

TEST(CsvLoaderTest, FixedClassesAndGroupsRejectUnlistedValuesAndBadLists) {
  TempDir dir;
  const std::string train = dir.Write("u.csv", "x,g,label\n1,a,0\n2,b,1\n3,a,5\n");
  DataConfig config = CsvConfig(train, train);
  config.csv.label = "label";
  config.csv.drop = {"g"};
  config.csv.classes = {"0", "1"};
  auto data = LoadData(config);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("u.csv:4: column 'label': label '5' is not one of "
                                                 "data.classes (0, 1)"));
  config.csv.classes = {"0", "1", "0", "5"};
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("data.classes: '0' is listed twice"));
  config.csv.classes = {"0"};
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("at least two classes"));
  config.csv.classes = {"0", "1", "5"};
  config.csv.positive = "1";
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("exclude each other"));
  config.csv.positive = "";

  config.sensitive = "g";
  config.csv.groups = {"a"};
  EXPECT_THAT(LoadData(config).status().message(),
              HasSubstr("u.csv:3: sensitive column 'g': value 'b' is not one of data.groups (a)"));
  config.sensitive = "x>1";
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("data.groups: needs a categorical"));
}

TEST(CsvLoaderTest, FixedGroupsNumberGroupsInListOrder) {
  TempDir dir;
  const std::string train = dir.Write("g.csv", "x,group,label\n1,2,0\n2,0,1\n3,2,1\n");
  const std::string test = dir.Write("gt.csv", "x,group,label\n1,2,0\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "label";
  config.csv.drop = {"group"};
  config.sensitive = "group";
  config.csv.groups = {"0", "1", "2"};
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_groups, 3);  // group "1" occurs nowhere but is kept
  EXPECT_THAT(data->train.group_names, ElementsAre("0", "1", "2"));
  EXPECT_THAT(data->train.group, ElementsAre(2, 0, 2));
  EXPECT_THAT(data->test.group, ElementsAre(2));
  EXPECT_EQ(data->train.dim(), 1);
}

TEST(CsvLoaderTest, TestFileWithOnlyAHeaderIsAnEmptyTestSplit) {
  TempDir dir;
  const std::string train = dir.Write("e.csv", "x,z,label\n1,4,0\n2,5,1\n");
  const std::string test = dir.Write("et.csv", "x,z,label\n");
  DataConfig config = CsvConfig(train, test);
  config.csv.label = "label";
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->test.size(), 0);
  EXPECT_EQ(data->test.dim(), 2);
  EXPECT_EQ(data->test.num_classes, 2);
  // A training file without rows stays an error, and so does a test file whose rows all drop.
  config.csv.train = test;
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("no training rows"));
  config.csv.train = train;
  config.csv.test = dir.Write("et2.csv", "x,z,label\n?,1,0\n");
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("no test rows"));
}

// A file saved by a spreadsheet starts with a UTF-8 byte-order mark: it is not part of the first
// column's name.
TEST(CsvLoaderTest, AUtf8ByteOrderMarkIsStripped) {
  TempDir dir;
  const std::string train = dir.Write("bom.csv", "\xEF\xBB\xBFx,label\n1,0\n2,1\n3,0\n4,1\n");
  DataConfig config = CsvConfig(train);
  config.csv.label = "label";
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->train.feature_names, ElementsAre("x"));
}

// Values near the largest double make the mean or deviation overflow: a named error, not a run of
// NaN features. Without standardization the same values are used as read.
TEST(CsvLoaderTest, AColumnThatOverflowsTheScalingIsRejectedNamingIt) {
  TempDir dir;
  const std::string train =
      dir.Write("big.csv", "x,huge,label\n1,1e308,0\n2,1.5e308,1\n3,-1e308,0\n4,1e308,1\n");
  DataConfig config = CsvConfig(train);
  config.csv.label = "label";
  const auto data = LoadData(config);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("big.csv: column 'huge': its values are too large"));
  config.csv.standardize = false;
  EXPECT_TRUE(LoadData(config).ok());
}

// A categorical column with more distinct values than kMaxCategoricalLevels (50,000 ids here) is
// refused, naming it, before a 50,000-wide one-hot block is allocated.
TEST(CsvLoaderTest, ACategoricalColumnWithTooManyLevelsIsRejectedBeforeAllocating) {
  TempDir dir;
  std::string text = "id,x,label\n";
  for (int i = 0; i < 50000; ++i) text += "id" + std::to_string(i) + "," + std::to_string(i % 7) + "," + std::to_string(i % 2) + "\n";
  const std::string train = dir.Write("ids.csv", text);
  DataConfig config = CsvConfig(train);
  config.csv.label = "label";
  config.csv.categorical = {"id"};
  const auto data = LoadData(config);
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(),
              HasSubstr("categorical column 'id' has more than " +
                        std::to_string(kMaxCategoricalLevels) + " distinct values"));
  config.csv.drop = {"id"};
  config.csv.categorical.clear();
  EXPECT_TRUE(LoadData(config).ok());
}

// test_fraction 0: no test split, every record trains (what a silo's own file is by default).
TEST(CsvLoaderTest, TestFractionZeroKeepsEveryRecordForTraining) {
  TempDir dir;
  const std::string train = dir.Write("all.csv", "x,label\n1,0\n2,1\n3,0\n4,1\n5,0\n");
  DataConfig config = CsvConfig(train);
  config.csv.label = "label";
  config.csv.test_fraction = 0.0;
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size(), 5);
  EXPECT_EQ(data->test.size(), 0);
  EXPECT_EQ(data->test.dim(), 1);
}

}  // namespace
}  // namespace fedsilo
