#include "common/data/presets.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/rng.h"
#include "common/data/csv_loader.h"
#include "common/data/csv_reader.h"
#include "common/data/tabular.h"

namespace fedsilo {
namespace {

constexpr double kPresetTestFraction = 0.2;

// Reads <dir>/<dataset>/<file> into a Table.
absl::StatusOr<Table> ReadPresetTable(const DataConfig& config, const std::string& dataset,
                                      const std::string& file, const CsvOptions& options,
                                      bool header, std::vector<std::string> names) {
  const std::filesystem::path path = std::filesystem::path(config.dir) / dataset / file;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    const std::filesystem::path full = std::filesystem::absolute(path, ec);
    return absl::NotFoundError(absl::StrCat(
        dataset, ": data file not found: ", full.string(),
        "; set data.dir (or the FEDSILO_DATA environment variable) to the directory that holds "
        "the '", dataset, "' folder"));
  }
  FEDSILO_ASSIGN_OR_RETURN(CsvRows rows, ReadCsvFile(path.string(), options));
  return TableFromCsv(std::move(rows), path.string(), header, std::move(names));
}

// The preset option selected by config.sensitive: `allowed[0]` when empty, "none", or one of
// `allowed`.
absl::StatusOr<std::string> SensitiveOption(const std::string& dataset, const std::string& requested,
                                            const std::vector<std::string>& allowed) {
  if (requested.empty()) return allowed.empty() ? std::string("none") : allowed[0];
  if (requested == "none") return requested;
  if (std::find(allowed.begin(), allowed.end(), requested) != allowed.end()) return requested;
  std::vector<std::string> all = allowed;
  all.push_back("none");
  return absl::InvalidArgumentError(absl::StrCat("data.sensitive: unknown option '", requested,
                                                 "' for dataset ", dataset, "; allowed: ",
                                                 absl::StrJoin(all, ", ")));
}

SensitiveRule Categorical(std::string column) {
  SensitiveRule rule;
  rule.kind = SensitiveRule::Kind::kCategorical;
  rule.column = std::move(column);
  return rule;
}

absl::Status BadValue(const Table& table, size_t row, size_t col, const std::string& expected) {
  return absl::InvalidArgumentError(absl::StrCat(table.source, ":", table.lines[row], ": column '",
                                                 table.columns[col], "': expected ", expected,
                                                 ", got '", table.at(row, col), "'"));
}

absl::StatusOr<size_t> Column(const Table& table, const std::string& name) {
  const int c = table.ColumnIndex(name);
  if (c < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(table.source, ": expected a column named '", name, "'"));
  }
  return static_cast<size_t>(c);
}

// Adds a column computed from each row.
template <typename Fn>
absl::Status DeriveColumn(Table* table, const std::string& name, Fn fn) {
  std::vector<std::string> values(table->rows());
  for (size_t r = 0; r < table->rows(); ++r) {
    FEDSILO_ASSIGN_OR_RETURN(values[r], fn(r));
  }
  return AddColumn(table, name, std::move(values));
}

absl::StatusOr<TableSplit> PresetSplit(const Table& table, const DataConfig& config) {
  return HoldOutSplit(table, kPresetTestFraction, DeriveSeed(config.seed, "test-split"));
}

// Every column of `table` not in `keep`.
std::vector<std::string> AllBut(const Table& table, const std::vector<std::string>& keep) {
  std::vector<std::string> drop;
  for (const std::string& c : table.columns) {
    if (std::find(keep.begin(), keep.end(), c) == keep.end()) drop.push_back(c);
  }
  return drop;
}

absl::StatusOr<TrainTest> Finish(const Table& train, const Table& test, const TabularSpec& spec,
                                 const char* name) {
  FEDSILO_ASSIGN_OR_RETURN(TrainTest data, TabularToDatasets(train, test, spec));
  data.name = name;
  return data;
}

// ------------------------------------------------------------------------------------ adult

absl::Status PrepareAdult(Table* table, const std::string& option) {
  FEDSILO_ASSIGN_OR_RETURN(const size_t income, Column(*table, "income"));
  FEDSILO_ASSIGN_OR_RETURN(const size_t race, Column(*table, "race"));
  FEDSILO_ASSIGN_OR_RETURN(const size_t sex, Column(*table, "sex"));
  for (size_t r = 0; r < table->rows(); ++r) {
    std::string& label = table->at(r, income);
    if (!label.empty() && label.back() == '.') label.pop_back();  // adult.test: ">50K."
  }
  auto race_group = [&](size_t r) {
    return table->at(r, race) == "White" ? std::string("White") : std::string("non-White");
  };
  if (option == "race") {
    return DeriveColumn(table, "race_group",
                        [&](size_t r) -> absl::StatusOr<std::string> { return race_group(r); });
  }
  if (option == "sex_race") {
    return DeriveColumn(table, "sex_race", [&](size_t r) -> absl::StatusOr<std::string> {
      return absl::StrCat(table->at(r, sex), "/", race_group(r));
    });
  }
  return absl::OkStatus();
}

// --------------------------------------------------------------------------------- compas

// Days since 1970-01-01 of "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS".
std::optional<double> ParseDateTimeDays(std::string_view s) {
  auto number = [&](size_t pos, size_t len) -> std::optional<int> {
    if (pos + len > s.size()) return std::nullopt;
    int v = 0;
    const auto [ptr, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, v);
    if (ec != std::errc() || ptr != s.data() + pos + len) return std::nullopt;
    return v;
  };
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  const auto y = number(0, 4), m = number(5, 2), d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*y),
                                        std::chrono::month(static_cast<unsigned>(*m)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  double days = static_cast<double>(std::chrono::sys_days(ymd).time_since_epoch().count());
  if (s.size() == 10) return days;
  if (s.size() != 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':') return std::nullopt;
  const auto hh = number(11, 2), mm = number(14, 2), ss = number(17, 2);
  if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
  return days + (*hh * 3600.0 + *mm * 60.0 + *ss) / 86400.0;
}

// ProPublica's filter: -30 <= days_b_screening_arrest <= 30, is_recid != -1,
// c_charge_degree != "O", score_text != "N/A". A missing days_b_screening_arrest fails it (as NaN
// comparisons do in their notebook).
absl::StatusOr<Table> FilterCompas(const Table& table) {
  FEDSILO_ASSIGN_OR_RETURN(const size_t days, Column(table, "days_b_screening_arrest"));
  FEDSILO_ASSIGN_OR_RETURN(const size_t recid, Column(table, "is_recid"));
  FEDSILO_ASSIGN_OR_RETURN(const size_t degree, Column(table, "c_charge_degree"));
  FEDSILO_ASSIGN_OR_RETURN(const size_t score, Column(table, "score_text"));
  std::vector<size_t> keep;
  for (size_t r = 0; r < table.rows(); ++r) {
    if (IsMissing(table.at(r, days))) continue;
    const std::optional<double> d = ParseNumber(table.at(r, days));
    if (!d) return BadValue(table, r, days, "a number");
    if (*d < -30 || *d > 30) continue;
    if (table.at(r, recid) == "-1") continue;
    if (table.at(r, degree) == "O") continue;
    if (table.at(r, score) == "N/A") continue;
    keep.push_back(r);
  }
  return SelectRows(table, keep);
}

// ------------------------------------------------------------------------------ communities

const std::vector<std::string>& CommunitiesColumns() {
  static const auto* names = new std::vector<std::string>{
      "state", "county", "community", "communityname", "fold", "population", "householdsize",
      "racepctblack", "racePctWhite", "racePctAsian", "racePctHisp", "agePct12t21", "agePct12t29",
      "agePct16t24", "agePct65up", "numbUrban", "pctUrban", "medIncome", "pctWWage", "pctWFarmSelf",
      "pctWInvInc", "pctWSocSec", "pctWPubAsst", "pctWRetire", "medFamInc", "perCapInc",
      "whitePerCap", "blackPerCap", "indianPerCap", "AsianPerCap", "OtherPerCap", "HispPerCap",
      "NumUnderPov", "PctPopUnderPov", "PctLess9thGrade", "PctNotHSGrad", "PctBSorMore",
      "PctUnemployed", "PctEmploy", "PctEmplManu", "PctEmplProfServ", "PctOccupManu",
      "PctOccupMgmtProf", "MalePctDivorce", "MalePctNevMarr", "FemalePctDiv", "TotalPctDiv",
      "PersPerFam", "PctFam2Par", "PctKids2Par", "PctYoungKids2Par", "PctTeen2Par",
      "PctWorkMomYoungKids", "PctWorkMom", "NumIlleg", "PctIlleg", "NumImmig", "PctImmigRecent",
      "PctImmigRec5", "PctImmigRec8", "PctImmigRec10", "PctRecentImmig", "PctRecImmig5",
      "PctRecImmig8", "PctRecImmig10", "PctSpeakEnglOnly", "PctNotSpeakEnglWell", "PctLargHouseFam",
      "PctLargHouseOccup", "PersPerOccupHous", "PersPerOwnOccHous", "PersPerRentOccHous",
      "PctPersOwnOccup", "PctPersDenseHous", "PctHousLess3BR", "MedNumBR", "HousVacant",
      "PctHousOccup", "PctHousOwnOcc", "PctVacantBoarded", "PctVacMore6Mos", "MedYrHousBuilt",
      "PctHousNoPhone", "PctWOFullPlumb", "OwnOccLowQuart", "OwnOccMedVal", "OwnOccHiQuart",
      "RentLowQ", "RentMedian", "RentHighQ", "MedRent", "MedRentPctHousInc", "MedOwnCostPctInc",
      "MedOwnCostPctIncNoMtg", "NumInShelters", "NumStreet", "PctForeignBorn", "PctBornSameState",
      "PctSameHouse85", "PctSameCity85", "PctSameState85", "LemasSwornFT", "LemasSwFTPerPop",
      "LemasSwFTFieldOps", "LemasSwFTFieldPerPop", "LemasTotalReq", "LemasTotReqPerPop",
      "PolicReqPerOffic", "PolicPerPop", "RacialMatchCommPol", "PctPolicWhite", "PctPolicBlack",
      "PctPolicHisp", "PctPolicAsian", "PctPolicMinor", "OfficAssgnDrugUnits", "NumKindsDrugsSeiz",
      "PolicAveOTWorked", "LandArea", "PopDens", "PctUsePubTrans", "PolicCars", "PolicOperBudg",
      "LemasPctPolicOnPatr", "LemasGangUnitDeploy", "LemasPctOfficDrugUn", "PolicBudgPerPop",
      "ViolentCrimesPerPop"};
  return *names;
}

// Linear-interpolation quantile (numpy's default) of a non-empty vector.
double Quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

}  // namespace

absl::StatusOr<TrainTest> LoadAdult(const DataConfig& config) {
  FEDSILO_ASSIGN_OR_RETURN(std::string option,
                           SensitiveOption("adult", config.sensitive, {"sex", "race", "sex_race"}));
  const std::vector<std::string> names = {
      "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
      "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
      "native-country", "income"};
  CsvOptions test_options;
  test_options.skip_lines = 1;  // "|1x3 Cross validator"
  FEDSILO_ASSIGN_OR_RETURN(Table train, ReadPresetTable(config, "adult", "adult.data", {}, false,
                                                        names));
  FEDSILO_ASSIGN_OR_RETURN(Table test, ReadPresetTable(config, "adult", "adult.test",
                                                       test_options, false, names));
  FEDSILO_RETURN_IF_ERROR(PrepareAdult(&train, option));
  FEDSILO_RETURN_IF_ERROR(PrepareAdult(&test, option));
  TabularSpec spec;
  spec.label = "income";
  spec.positive = ">50K";
  spec.categorical = {"workclass", "education", "marital-status", "occupation", "relationship",
                      "race", "sex", "native-country"};
  spec.drop = {"fnlwgt"};  // a census sampling weight, not an attribute of the person
  spec.missing = config.missing;
  if (option == "sex") spec.sensitive = Categorical("sex");
  if (option == "race" || option == "sex_race") {
    const std::string derived = option == "race" ? "race_group" : "sex_race";
    spec.sensitive = Categorical(derived);
    spec.drop.push_back(derived);
  }
  return Finish(train, test, spec, "adult");
}

absl::StatusOr<TrainTest> LoadCompas(const DataConfig& config) {
  FEDSILO_ASSIGN_OR_RETURN(std::string option,
                           SensitiveOption("compas", config.sensitive, {"race", "sex"}));
  FEDSILO_ASSIGN_OR_RETURN(Table raw, ReadPresetTable(config, "compas",
                                                      "compas-scores-two-years.csv", {}, true, {}));
  FEDSILO_ASSIGN_OR_RETURN(Table table, FilterCompas(raw));
  FEDSILO_ASSIGN_OR_RETURN(const size_t jail_in, Column(table, "c_jail_in"));
  FEDSILO_ASSIGN_OR_RETURN(const size_t jail_out, Column(table, "c_jail_out"));
  FEDSILO_ASSIGN_OR_RETURN(const size_t race, Column(table, "race"));
  // Length of stay in whole days (floor, as pandas' Timedelta.days in ProPublica's notebook).
  FEDSILO_RETURN_IF_ERROR(DeriveColumn(
      &table, "length_of_stay", [&](size_t r) -> absl::StatusOr<std::string> {
        if (IsMissing(table.at(r, jail_in)) || IsMissing(table.at(r, jail_out))) {
          return std::string("?");
        }
        const std::optional<double> in = ParseDateTimeDays(table.at(r, jail_in));
        if (!in) return BadValue(table, r, jail_in, "a date-time 'YYYY-MM-DD HH:MM:SS'");
        const std::optional<double> out = ParseDateTimeDays(table.at(r, jail_out));
        if (!out) return BadValue(table, r, jail_out, "a date-time 'YYYY-MM-DD HH:MM:SS'");
        return absl::StrCat(static_cast<long long>(std::floor(*out - *in)));
      }));
  FEDSILO_RETURN_IF_ERROR(DeriveColumn(&table, "race_group",
                                       [&](size_t r) -> absl::StatusOr<std::string> {
                                         return table.at(r, race) == "Caucasian"
                                                    ? std::string("Caucasian")
                                                    : std::string("non-Caucasian");
                                       }));
  const std::vector<std::string> features = {
      "age", "age_cat", "sex", "race", "c_charge_degree", "priors_count", "juv_fel_count",
      "juv_misd_count", "juv_other_count", "length_of_stay"};
  std::vector<std::string> keep = features;
  keep.push_back("two_year_recid");
  TabularSpec spec;
  spec.label = "two_year_recid";
  spec.positive = "1";
  spec.categorical = {"age_cat", "sex", "race", "c_charge_degree"};
  spec.drop = AllBut(table, keep);  // ids, names, dates, COMPAS scores, later-outcome columns
  spec.missing = config.missing;
  if (option == "race") spec.sensitive = Categorical("race_group");
  if (option == "sex") spec.sensitive = Categorical("sex");
  FEDSILO_ASSIGN_OR_RETURN(TableSplit split, PresetSplit(table, config));
  return Finish(split.train, split.test, spec, "compas");
}

absl::StatusOr<TrainTest> LoadGerman(const DataConfig& config) {
  FEDSILO_ASSIGN_OR_RETURN(std::string option,
                           SensitiveOption("german", config.sensitive, {"sex", "age"}));
  const std::vector<std::string> names = {
      "checking_status", "duration", "credit_history", "purpose", "credit_amount", "savings",
      "employment", "installment_rate", "personal_status_sex", "other_debtors", "residence_since",
      "property", "age", "other_installment_plans", "housing", "existing_credits", "job",
      "num_dependents", "telephone", "foreign_worker", "credit"};
  CsvOptions options;
  options.delimiter = ' ';
  options.merge_delimiters = true;
  FEDSILO_ASSIGN_OR_RETURN(Table table,
                           ReadPresetTable(config, "german", "german.data", options, false, names));
  const size_t credit = 20, status = 8, age = 12;
  for (size_t r = 0; r < table.rows(); ++r) {
    std::string& label = table.at(r, credit);
    if (label == "1") label = "good";
    else if (label == "2") label = "bad";
    else return BadValue(table, r, credit, "1 (good) or 2 (bad)");
  }
  TabularSpec spec;
  spec.label = "credit";
  spec.positive = "good";
  spec.categorical = {"checking_status", "credit_history", "purpose", "savings", "employment",
                      "personal_status_sex", "other_debtors", "property",
                      "other_installment_plans", "housing", "job", "telephone", "foreign_worker"};
  spec.missing = config.missing;
  if (option == "sex") {
    FEDSILO_RETURN_IF_ERROR(DeriveColumn(&table, "sex", [&](size_t r) -> absl::StatusOr<std::string> {
      const std::string& code = table.at(r, status);
      return std::string(code == "A92" || code == "A95" ? "female" : "male");
    }));
    spec.sensitive = Categorical("sex");
    spec.drop.push_back("sex");
  } else if (option == "age") {
    FEDSILO_RETURN_IF_ERROR(
        DeriveColumn(&table, "age_group", [&](size_t r) -> absl::StatusOr<std::string> {
          const std::optional<double> years = ParseNumber(table.at(r, age));
          if (!years) return BadValue(table, r, age, "a number");
          return std::string(*years > 25 ? "age>25" : "age<=25");
        }));
    spec.sensitive = Categorical("age_group");
    spec.drop.push_back("age_group");
  }
  FEDSILO_ASSIGN_OR_RETURN(TableSplit split, PresetSplit(table, config));
  return Finish(split.train, split.test, spec, "german");
}

absl::StatusOr<TrainTest> LoadObesity(const DataConfig& config) {
  FEDSILO_ASSIGN_OR_RETURN(std::string option,
                           SensitiveOption("obesity", config.sensitive, {"gender"}));
  FEDSILO_ASSIGN_OR_RETURN(
      Table table, ReadPresetTable(config, "obesity", "ObesityDataSet_raw_and_data_sinthetic.csv",
                                   {}, true, {}));
  TabularSpec spec;
  spec.label = "NObeyesdad";
  spec.categorical = {"Gender", "family_history_with_overweight", "FAVC", "CAEC", "SMOKE", "SCC",
                      "CALC", "MTRANS"};
  spec.missing = config.missing;
  if (option == "gender") spec.sensitive = Categorical("Gender");
  FEDSILO_ASSIGN_OR_RETURN(TableSplit split, PresetSplit(table, config));
  return Finish(split.train, split.test, spec, "obesity");
}

absl::StatusOr<TrainTest> LoadCommunities(const DataConfig& config) {
  FEDSILO_ASSIGN_OR_RETURN(std::string option,
                           SensitiveOption("communities", config.sensitive, {"race"}));
  FEDSILO_ASSIGN_OR_RETURN(Table table,
                           ReadPresetTable(config, "communities", "communities.data", {}, false,
                                           CommunitiesColumns()));
  FEDSILO_ASSIGN_OR_RETURN(TableSplit split, PresetSplit(table, config));
  TabularSpec spec;
  spec.label = "ViolentCrimesPerPop";
  spec.positive = "high";
  spec.missing = config.missing;
  // Not predictive (UCI): state, county, community, communityname, fold.
  spec.drop = {"state", "county", "community", "communityname", "fold"};
  // Columns missing in more than half of the training rows (the LEMAS police columns).
  for (size_t c = 5; c + 1 < split.train.cols(); ++c) {
    size_t missing = 0;
    for (size_t r = 0; r < split.train.rows(); ++r) missing += IsMissing(split.train.at(r, c));
    if (2 * missing > split.train.rows()) spec.drop.push_back(split.train.columns[c]);
  }
  // Label: high crime = ViolentCrimesPerPop above its 70th percentile in the training split.
  const size_t label = split.train.cols() - 1;
  std::vector<double> rates;
  for (size_t r = 0; r < split.train.rows(); ++r) {
    if (IsMissing(split.train.at(r, label))) continue;
    const std::optional<double> v = ParseNumber(split.train.at(r, label));
    if (!v) return BadValue(split.train, r, label, "a number");
    rates.push_back(*v);
  }
  if (rates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(split.train.source, ": no ViolentCrimesPerPop values"));
  }
  const double threshold = Quantile(rates, 0.7);
  for (Table* t : {&split.train, &split.test}) {
    for (size_t r = 0; r < t->rows(); ++r) {
      std::string& cell = t->at(r, label);
      if (IsMissing(cell)) continue;
      const std::optional<double> v = ParseNumber(cell);
      if (!v) return BadValue(*t, r, label, "a number");
      cell = *v > threshold ? "high" : "low";
    }
  }
  if (option == "race") {
    spec.sensitive.kind = SensitiveRule::Kind::kAboveTrainMedian;
    spec.sensitive.column = "racepctblack";
  }
  return Finish(split.train, split.test, spec, "communities");
}

absl::StatusOr<TrainTest> LoadWdbc(const DataConfig& config) {
  FEDSILO_ASSIGN_OR_RETURN(std::string option, SensitiveOption("wdbc", config.sensitive, {}));
  std::vector<std::string> names = {"id", "diagnosis"};
  for (const char* stat : {"mean", "se", "worst"}) {
    for (const char* feature : {"radius", "texture", "perimeter", "area", "smoothness",
                                "compactness", "concavity", "concave_points", "symmetry",
                                "fractal_dimension"}) {
      names.push_back(absl::StrCat(feature, "_", stat));
    }
  }
  CsvOptions options;
  options.skip_lines = 1;  // "ID, Diagnosis, Size", added above the UCI data
  FEDSILO_ASSIGN_OR_RETURN(Table table,
                           ReadPresetTable(config, "wdbc", "wdbc.data", options, false, names));
  TabularSpec spec;
  spec.label = "diagnosis";
  spec.positive = "M";
  spec.drop = {"id"};
  spec.missing = config.missing;
  FEDSILO_ASSIGN_OR_RETURN(TableSplit split, PresetSplit(table, config));
  return Finish(split.train, split.test, spec, "wdbc");
}

}  // namespace fedsilo
