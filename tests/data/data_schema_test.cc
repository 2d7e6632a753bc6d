// DataSchema (common/data/data_schema.h): two silos whose files differ in column order and in how
// they spell categories read to the very same features, classes and groups, computed here by hand
// from the schema; every bad input is an error naming file, line, column and value.
#include "common/data/data_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/data/csv_reader.h"
#include "common/data/loader_registry.h"
#include "common/data/tabular.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kSchema[] = R"(
features:
  - {name: age, type: numeric, center: 40, scale: 10}
  - {name: sex, type: categorical, levels: [Female, Male]}
  - {name: job, type: categorical, levels: [clerk, nurse, other], unseen: other}
label: {name: income, classes: ["<=50K", ">50K"]}
sensitive: {name: sex, groups: [Female, Male]}
missing: {markers: ["?", ""], policy: drop}
)";

Table Read(const std::string& csv, const std::string& source) {
  absl::StatusOr<CsvRows> rows = ParseCsv(csv, source, CsvOptions());
  EXPECT_TRUE(rows.ok()) << rows.status();
  absl::StatusOr<Table> table = TableFromCsv(*std::move(rows), source, /*header=*/true);
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

DataSchema Schema() {
  absl::StatusOr<DataSchema> schema = ParseDataSchema(kSchema, "schema.yaml");
  EXPECT_TRUE(schema.ok()) << schema.status();
  return *std::move(schema);
}

TEST(DataSchemaTest, DifferentColumnOrdersAndSpellingsReadToTheSameRecords) {
  const DataSchema schema = Schema();
  // Hospital A uses the schema's names and spellings.
  const Table a = Read("age,sex,job,income\n30,Female,clerk,<=50K\n55,Male,pilot,>50K\n",
                       "a.csv");
  // Hospital B: other column order and names, its own spellings, an extra column.
  const Table b = Read("salary,gender,occupation,years,ward\n"
                       "low,woman,clerk,30,3\nhigh,man,pilot,55,7\n",
                       "b.csv");
  SchemaMapping b_mapping;
  b_mapping.columns = {{"salary", "income"}, {"gender", "sex"}, {"occupation", "job"},
                       {"years", "age"}};
  b_mapping.values = {{"sex", {{"woman", "Female"}, {"man", "Male"}}},
                      {"income", {{"low", "<=50K"}, {"high", ">50K"}}}};
  absl::StatusOr<Dataset> from_a = ReadWithSchema(a, schema, SchemaMapping());
  absl::StatusOr<Dataset> from_b = ReadWithSchema(b, schema, b_mapping);
  ASSERT_TRUE(from_a.ok()) << from_a.status();
  ASSERT_TRUE(from_b.ok()) << from_b.status();
  // By hand: (age - 40) / 10, one-hot sex, one-hot job with the unseen 'pilot' as 'other'.
  Matrix expected(2, 6);
  expected << -1.0, 1, 0, 1, 0, 0,
      1.5, 0, 1, 0, 0, 1;
  for (const Dataset* data : {&*from_a, &*from_b}) {
    EXPECT_EQ(data->x, expected);
    EXPECT_THAT(data->y, ElementsAre(0, 1));
    EXPECT_THAT(data->group, ElementsAre(0, 1));
    EXPECT_THAT(data->feature_names, ElementsAre("age", "sex=Female", "sex=Male", "job=clerk",
                                                 "job=nurse", "job=other"));
    EXPECT_EQ(data->num_classes, 2);
    EXPECT_EQ(data->num_groups, 2);
  }
}

TEST(DataSchemaTest, BadValuesAreNamedWithFileLineColumnAndValue) {
  const DataSchema schema = Schema();
  auto error = [&](const std::string& csv) {
    absl::StatusOr<Dataset> data = ReadWithSchema(Read(csv, "h.csv"), schema, SchemaMapping());
    EXPECT_FALSE(data.ok());
    return std::string(data.status().message());
  };
  EXPECT_THAT(error("age,sex,job,income\n30,Female,clerk,<=50K\n31,F,clerk,<=50K\n"),
              HasSubstr("h.csv:3: column 'sex': 'F' is not one of its levels (Female, Male)"));
  EXPECT_THAT(error("age,sex,job,income\n30,Female,clerk,maybe\n"),
              HasSubstr("h.csv:2: column 'income': 'maybe' is not one of the classes"));
  EXPECT_THAT(error("age,sex,job,income\nold,Female,clerk,<=50K\n"),
              HasSubstr("h.csv:2: column 'age': expected a number, got 'old'"));
  EXPECT_THAT(error("age,gender,job,income\n30,Female,clerk,<=50K\n"),
              HasSubstr("h.csv: no column for the schema's 'sex' (columns: age, gender, job, "
                        "income)"));
}

TEST(DataSchemaTest, MissingValuesAreDroppedAndCountedOrRefused) {
  DataSchema schema = Schema();
  const Table table = Read("age,sex,job,income\n30,Female,clerk,<=50K\n?,Male,nurse,>50K\n"
                           "41,,nurse,>50K\n50,Male,nurse,>50K\n",
                           "m.csv");
  SchemaReadReport report;
  absl::StatusOr<Dataset> data = ReadWithSchema(table, schema, SchemaMapping(), &report);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->size(), 2);
  EXPECT_EQ(report.rows_read, 4u);
  EXPECT_EQ(report.rows_dropped, 2u);
  EXPECT_EQ(report.missing_by_column["age"], 1u);
  EXPECT_EQ(report.missing_by_column["sex"], 1u);
  schema.drop_missing = false;
  const absl::StatusOr<Dataset> refused = ReadWithSchema(table, schema, SchemaMapping());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("m.csv:3: column 'age': a missing value"));
}

TEST(DataSchemaTest, TheDigestFollowsTheContentNotTheFormatting) {
  const DataSchema block = Schema();
  const absl::StatusOr<DataSchema> flow = ParseDataSchema(
      "label: {name: income, classes: ['<=50K', '>50K']}\n"
      "features: [{name: age, type: numeric, center: 40.0, scale: 10.0},\n"
      "  {name: sex, type: categorical, levels: [Female, Male], unseen: error},\n"
      "  {name: job, type: categorical, levels: [clerk, nurse, other], unseen: other}]\n"
      "sensitive: {name: sex, groups: [Female, Male]}\n",
      "flow.yaml");
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(DataSchemaDigest(*flow), DataSchemaDigest(block));
  EXPECT_EQ(DataSchemaDigest(block).size(), 32u);
  DataSchema other = block;
  other.features[1].levels = {"Male", "Female"};  // the one-hot order is part of the model
  EXPECT_NE(DataSchemaDigest(other), DataSchemaDigest(block));
  other = block;
  other.features[0].scale = 10.000000001;
  EXPECT_NE(DataSchemaDigest(other), DataSchemaDigest(block));
}

TEST(DataSchemaTest, MalformedSchemasAreRefusedNamingTheProblem) {
  auto error = [](const std::string& yaml) {
    const absl::StatusOr<DataSchema> schema = ParseDataSchema(yaml, "s.yaml");
    EXPECT_FALSE(schema.ok()) << yaml;
    return std::string(schema.status().message());
  };
  const std::string label = "label: {name: y, classes: [a, b]}\n";
  EXPECT_THAT(error("featurs: []\n" + label), HasSubstr("s.yaml: unknown key 'featurs'"));
  EXPECT_THAT(error("features: [{name: c, type: categorical, levels: [a, a]}]\n" + label),
              HasSubstr("'a' is listed twice"));
  EXPECT_THAT(error("features: [{name: c, type: text}]\n" + label),
              HasSubstr("type must be numeric or categorical, got 'text'"));
  EXPECT_THAT(error("features: [{name: c, type: categorical, levels: [a], unseen: zz}]\n" + label),
              HasSubstr("unseen: 'zz' is not one of its levels"));
  EXPECT_THAT(error("features: [{name: c, type: numeric, scale: 0}]\n" + label),
              HasSubstr("scale finite and > 0"));
  EXPECT_THAT(error("features: [{name: c, type: numeric}]\nlabel: {name: y, classes: [a]}\n"),
              HasSubstr("at least two"));
}

// Through the `csv` loader: data.schema plus each file's own data.rename / data.recode, as two
// silos' configs would say them, read to the same dataset.
TEST(DataSchemaTest, TheCsvLoaderReadsBySchemaWithEachFilesOwnSpelling) {
  const std::filesystem::path dir = testing::FreshTempDir("data_schema_loader");
  testing::WriteFile(dir / "schema.yaml", kSchema);
  testing::WriteFile(dir / "a.csv", "age,sex,job,income\n30,Female,clerk,<=50K\n55,Male,pilot,>50K\n");
  testing::WriteFile(dir / "b.csv", "salary,gender,occupation,years\nlow,woman,clerk,30\n"
                                    "high,man,pilot,55\n");
  testing::WriteFile(dir / "none.csv", "age,sex,job,income\n");
  DataConfig a;
  a.dataset = "csv";
  a.csv.train = (dir / "a.csv").string();
  a.csv.test = (dir / "none.csv").string();
  a.csv.schema = (dir / "schema.yaml").string();
  DataConfig b = a;
  b.csv.train = (dir / "b.csv").string();
  b.csv.rename = {"salary=income", "gender=sex", "occupation=job", "years=age"};
  b.csv.recode = {"sex:woman=Female", "sex:man=Male", "income:low=<=50K", "income:high=>50K"};
  absl::StatusOr<TrainTest> from_a = LoadData(a);
  absl::StatusOr<TrainTest> from_b = LoadData(b);
  ASSERT_TRUE(from_a.ok()) << from_a.status();
  ASSERT_TRUE(from_b.ok()) << from_b.status();
  EXPECT_EQ(from_a->train.x, from_b->train.x);
  EXPECT_EQ(from_a->train.y, from_b->train.y);
  EXPECT_EQ(from_a->train.group, from_b->train.group);
  EXPECT_EQ(from_a->train.feature_names, from_b->train.feature_names);
  EXPECT_EQ(from_a->test.size(), 0);
  b.csv.recode = {"sex-woman=Female"};
  EXPECT_THAT(LoadData(b).status().message(), HasSubstr("data.recode: expected"));
}

// Found by fuzzing (issue 18; tests/fuzz/data_schema_fuzzer): a schema's categorical column with
// 50,000 levels made ReadWithSchema allocate rows x 50,000 one-hot doubles (out of memory with
// 6,000 rows). A schema may list at most kMaxCategoricalLevels (1000) levels, as the csv loader's
// learned columns; the regression file lists 1001 (v0..v1000), schema and CSV split at the NUL.
TEST(DataSchemaTest, ACategoricalColumnWithMoreThan1000LevelsIsRefused) {
  absl::StatusOr<std::string> input = ReadFileToString(
      std::string(FEDSILO_SOURCE_DIR) + "/tests/fuzz/regressions/data_schema_fuzzer/schema_1001_levels");
  ASSERT_TRUE(input.ok()) << input.status();
  const std::string schema_text = input->substr(0, input->find('\0'));
  absl::StatusOr<DataSchema> schema = ParseDataSchema(schema_text, "fuzz_schema.yaml");
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(schema.status().message(),
              HasSubstr("fuzz_schema.yaml: features: 'code': 1001 levels, more than the 1000"));

  // 1000 levels is the bound itself, and reads.
  std::string levels;
  for (int i = 0; i < 1000; ++i) levels += (i > 0 ? ", v" : "v") + std::to_string(i);
  EXPECT_TRUE(ParseDataSchema("features:\n  - {name: code, type: categorical, levels: [" + levels +
                                  "]}\nlabel: {name: y, classes: [\"0\", \"1\"]}\n",
                              "ok.yaml")
                  .ok());
}

// `fedsilo schema` from a reference file whose categorical column has 1001 distinct values
// writes no schema that the reader would refuse: it names the column instead.
TEST(DataSchemaTest, SchemaFromAReferenceWithMoreThan1000ValuesIsRefused) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("fedsilo_schema_levels_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string csv = "id,y\n";
  for (int i = 0; i <= 1000; ++i) csv += "p" + std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  std::ofstream(dir / "reference.csv") << csv;
  DataConfig config;
  config.dataset = "csv";
  config.csv.train = (dir / "reference.csv").string();
  config.csv.label = "y";
  config.csv.categorical = {"id"};
  absl::StatusOr<DataSchema> schema = SchemaFromReference(config);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(schema.status().message(),
              HasSubstr("categorical column 'id' has 1001 distinct values, more than 1000"));
}

}  // namespace
}  // namespace fedsilo
