// Tests of the dataset presets against the independent counts in /work/shared/data/README.md
// (and the well-known counts of the standard filters). Skipped when the data are absent.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/data/loader_registry.h"

namespace fedsilo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string& SharedDataDir() {
  static const std::string* dir = new std::string(FEDSILO_SOURCE_DIR "/../shared/data");
  return *dir;
}

#define SKIP_WITHOUT_SHARED_DATA()                                              \
  if (!std::filesystem::is_directory(SharedDataDir())) {                        \
    GTEST_SKIP() << "shared data not found at " << SharedDataDir();             \
  }

DataConfig Preset(const std::string& name, const std::string& sensitive = "") {
  DataConfig config;
  config.dataset = name;
  config.dir = SharedDataDir();
  config.sensitive = sensitive;
  config.seed = 1;
  return config;
}

// Class name -> count over both splits.
std::map<std::string, int> ClassCounts(const TrainTest& data) {
  std::map<std::string, int> counts;
  for (const Dataset* ds : {&data.train, &data.test}) {
    for (int y : ds->y) counts[ds->class_names[static_cast<size_t>(y)]]++;
  }
  return counts;
}

std::map<std::string, int> GroupCounts(const TrainTest& data) {
  std::map<std::string, int> counts;
  for (const Dataset* ds : {&data.train, &data.test}) {
    for (int g : ds->group) counts[ds->group_names[static_cast<size_t>(g)]]++;
  }
  return counts;
}

void ExpectStandardizedTrain(const Dataset& ds, const std::string& column) {
  const auto it = std::find(ds.feature_names.begin(), ds.feature_names.end(), column);
  ASSERT_NE(it, ds.feature_names.end()) << column;
  const Eigen::Index j = it - ds.feature_names.begin();
  const double mean = ds.x.col(j).mean();
  const double var = (ds.x.col(j).array() - mean).square().mean();
  EXPECT_NEAR(mean, 0.0, 1e-9) << column;
  EXPECT_NEAR(var, 1.0, 1e-9) << column;
}

TEST(PresetsTest, AdultRawClassCountsWithImputation) {
  SKIP_WITHOUT_SHARED_DATA();
  DataConfig config = Preset("adult");
  config.missing = MissingPolicy::kImpute;
  const auto start = std::chrono::steady_clock::now();
  auto data = LoadData(config);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_LT(seconds, 2.0);  // budget: well under a second in Release
  // README: adult.data 32561 rows, 24720 <=50K / 7841 >50K; adult.test 16281 rows.
  EXPECT_EQ(data->train.size(), 32561);
  EXPECT_EQ(data->test.size(), 16281);
  EXPECT_THAT(data->train.class_names, ElementsAre("<=50K", ">50K"));
  EXPECT_EQ(std::count(data->train.y.begin(), data->train.y.end(), 1), 7841);
  EXPECT_EQ(std::count(data->train.y.begin(), data->train.y.end(), 0), 24720);
  EXPECT_THAT(data->train.group_names, ElementsAre("Female", "Male"));
  ExpectStandardizedTrain(data->train, "age");
  EXPECT_NE(std::find(data->train.feature_names.begin(), data->train.feature_names.end(),
                      "workclass=missing"),
            data->train.feature_names.end());
}

TEST(PresetsTest, AdultDropsRowsWithMissingValues) {
  SKIP_WITHOUT_SHARED_DATA();
  auto data = LoadData(Preset("adult"));
  ASSERT_TRUE(data.ok()) << data.status();
  // The classic cleaned Adult: 30162 train / 15060 test complete rows.
  EXPECT_EQ(data->train.size(), 30162);
  EXPECT_EQ(data->test.size(), 15060);
  EXPECT_EQ(data->train.dim(), data->test.dim());
  for (const std::string& name : data->train.feature_names) {
    EXPECT_EQ(name.find("fnlwgt"), std::string::npos);
    EXPECT_EQ(name.find("income"), std::string::npos);
  }
}

TEST(PresetsTest, AdultSensitiveOptions) {
  SKIP_WITHOUT_SHARED_DATA();
  auto race = LoadData(Preset("adult", "race"));
  ASSERT_TRUE(race.ok()) << race.status();
  EXPECT_THAT(race->train.group_names, ElementsAre("White", "non-White"));
  auto both = LoadData(Preset("adult", "sex_race"));
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_THAT(both->train.group_names,
              ElementsAre("Female/White", "Female/non-White", "Male/White", "Male/non-White"));
  // The 4 groups refine both binary attributes.
  auto sex = LoadData(Preset("adult", "sex"));
  ASSERT_TRUE(sex.ok());
  for (int i = 0; i < both->train.size(); ++i) {
    ASSERT_EQ(both->train.group[i] / 2, sex->train.group[i]);
    ASSERT_EQ(both->train.group[i] % 2, race->train.group[i]);
  }
  EXPECT_EQ(race->train.dim(), sex->train.dim());  // derived groups are not features
  auto none = LoadData(Preset("adult", "none"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->train.has_groups());
  auto bad = LoadData(Preset("adult", "age"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("sex, race, sex_race, none"));
}

TEST(PresetsTest, CompasStandardFilter) {
  SKIP_WITHOUT_SHARED_DATA();
  auto data = LoadData(Preset("compas"));
  ASSERT_TRUE(data.ok()) << data.status();
  // README: 7214 rows (3963 / 3251), 6172 after ProPublica's filter.
  EXPECT_EQ(data->train.size() + data->test.size(), 6172);
  EXPECT_EQ(data->test.size(), 1234);  // round(0.2 * 6172)
  const auto counts = ClassCounts(*data);
  EXPECT_EQ(counts.at("0") + counts.at("1"), 6172);
  EXPECT_EQ(counts.at("1"), 2809);  // ProPublica notebook: two_year_recid after the filter
  EXPECT_THAT(data->train.group_names, ElementsAre("Caucasian", "non-Caucasian"));
  EXPECT_EQ(GroupCounts(*data).at("Caucasian"), 2103);
  for (const std::string& name : data->train.feature_names) {
    EXPECT_EQ(name.find("decile_score"), std::string::npos) << name;
    EXPECT_EQ(name.find("score_text"), std::string::npos) << name;
    EXPECT_EQ(name.find("is_recid"), std::string::npos) << name;
    EXPECT_EQ(name.find("id"), std::string::npos) << name;
  }
  ExpectStandardizedTrain(data->train, "length_of_stay");
  auto sex = LoadData(Preset("compas", "sex"));
  ASSERT_TRUE(sex.ok());
  EXPECT_EQ(GroupCounts(*sex).at("Female"), 1175);
  EXPECT_THAT(LoadData(Preset("compas", "gender")).status().message(), HasSubstr("race, sex"));
}

TEST(PresetsTest, German) {
  SKIP_WITHOUT_SHARED_DATA();
  auto data = LoadData(Preset("german"));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size(), 800);
  EXPECT_EQ(data->test.size(), 200);
  EXPECT_THAT(data->train.class_names, ElementsAre("bad", "good"));
  const auto counts = ClassCounts(*data);
  EXPECT_EQ(counts.at("good"), 700);
  EXPECT_EQ(counts.at("bad"), 300);
  EXPECT_THAT(data->train.group_names, ElementsAre("female", "male"));
  EXPECT_EQ(GroupCounts(*data).at("female"), 310);  // A92 (there is no A95 in the data)
  auto age = LoadData(Preset("german", "age"));
  ASSERT_TRUE(age.ok()) << age.status();
  EXPECT_THAT(age->train.group_names, ElementsAre("age<=25", "age>25"));
  EXPECT_EQ(GroupCounts(*age).at("age<=25"), 190);
}

TEST(PresetsTest, ObesityClassCounts) {
  SKIP_WITHOUT_SHARED_DATA();
  auto data = LoadData(Preset("obesity"));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size() + data->test.size(), 2111);
  EXPECT_EQ(data->train.num_classes, 7);
  std::vector<int> counts;
  for (const auto& [name, count] : ClassCounts(*data)) counts.push_back(count);
  std::sort(counts.rbegin(), counts.rend());
  EXPECT_THAT(counts, ElementsAre(351, 324, 297, 290, 290, 287, 272));
  EXPECT_THAT(data->train.group_names, ElementsAre("Female", "Male"));
}

TEST(PresetsTest, Communities) {
  SKIP_WITHOUT_SHARED_DATA();
  DataConfig config = Preset("communities");
  config.missing = MissingPolicy::kImpute;
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size() + data->test.size(), 1994);
  // 128 columns - 5 non-predictive - 22 mostly-missing LEMAS columns - the label.
  EXPECT_EQ(data->train.dim(), 100);
  for (const std::string& name : data->train.feature_names) {
    EXPECT_NE(name, "communityname");
    EXPECT_NE(name, "LemasSwornFT");
  }
  EXPECT_THAT(data->train.class_names, ElementsAre("low", "high"));
  // 70th percentile of the train split: about 30% "high".
  const double high = std::count(data->train.y.begin(), data->train.y.end(), 1) /
                      static_cast<double>(data->train.size());
  EXPECT_NEAR(high, 0.3, 0.02);
  EXPECT_EQ(data->train.num_groups, 2);
  EXPECT_THAT(data->train.group_names[1], HasSubstr("racepctblack>"));
  // One row has a missing OtherPerCap: dropping rows loses exactly it.
  auto dropped = LoadData(Preset("communities"));
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(dropped->train.size() + dropped->test.size(), 1993);
}

TEST(PresetsTest, Wdbc) {
  SKIP_WITHOUT_SHARED_DATA();
  auto data = LoadData(Preset("wdbc"));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.dim(), 30);
  EXPECT_THAT(data->train.class_names, ElementsAre("B", "M"));
  const auto counts = ClassCounts(*data);
  EXPECT_EQ(counts.at("M"), 212);
  EXPECT_EQ(counts.at("B"), 357);
  EXPECT_FALSE(data->train.has_groups());
  EXPECT_EQ(data->train.feature_names.front(), "radius_mean");
  EXPECT_EQ(data->train.feature_names.back(), "fractal_dimension_worst");
  EXPECT_EQ(LoadData(Preset("wdbc", "sex")).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PresetsTest, HeldOutSplitDependsOnSeed) {
  SKIP_WITHOUT_SHARED_DATA();
  DataConfig config = Preset("wdbc");
  auto a = LoadData(config);
  auto b = LoadData(config);
  config.seed = 2;
  auto c = LoadData(config);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(a->test.x.isApprox(b->test.x));
  EXPECT_FALSE(a->test.x.isApprox(c->test.x));
}

TEST(PresetsTest, MissingFilesAreNotFoundWithFullPathAndHint) {
  const std::string empty = (std::filesystem::temp_directory_path() / "fedsilo_no_data").string();
  std::filesystem::create_directories(empty);
  for (const char* name : {"adult", "compas", "german", "obesity", "communities", "wdbc"}) {
    DataConfig config;
    config.dataset = name;
    config.dir = empty;
    auto data = LoadData(config);
    ASSERT_FALSE(data.ok()) << name;
    EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound) << name;
    EXPECT_THAT(data.status().message(), HasSubstr(empty + "/" + name + "/"));
    EXPECT_THAT(data.status().message(), HasSubstr("FEDSILO_DATA"));
  }
}

}  // namespace
}  // namespace fedsilo
