// Experiment-file parsing (see config_parser.h).
//
// One table, Schema(), lists every key: its section, its name, the member of ExperimentConfig it
// binds to (the member's C++ type is the key's kind) and the rule its value must satisfy. Decoding,
// override checking, unknown-key hints and emission all walk that table, so adding a key is one
// line here plus its entry in docs/config.md. yaml-cpp throws; every exception is caught in this
// file and turned into a Status.
#include "common/runtime/config_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/algorithms/algorithm_registry.h"
#include "common/data/csv_loader.h"
#include "common/data/loader_registry.h"
#include "common/model/model_registry.h"
#include "yaml-cpp/yaml.h"

namespace fedsilo {
namespace {

// Longest network timeout accepted (about 115 days): every deadline then fits a clock duration.
constexpr double kMaxTimeoutSeconds = 1e7;

namespace fs = std::filesystem;

// ------------------------------------------------------------------------------------ the schema

// A pointer to the member a key binds to; the alternative chosen is the key's kind.
using FieldRef = std::variant<int*, unsigned long long*, double*, bool*, std::string*,
                              std::vector<int>*, std::vector<double>*, std::vector<std::string>*,
                              MissingPolicy*>;
using FieldAccessor = FieldRef (*)(ExperimentConfig&);

using NameList = std::vector<std::string> (*)();

struct Bound {
  double value;
  bool inclusive;
};
Bound Inclusive(double value) { return {value, true}; }
Bound Exclusive(double value) { return {value, false}; }

// What a value must satisfy beyond its kind. Numbers (and each element of a list of numbers) are
// checked against the bounds; strings against the choices (fixed or from a registry) and `check`.
struct Rule {
  std::optional<Bound> lower;
  std::optional<Bound> upper;
  std::vector<std::string> choices;
  NameList registered = nullptr;
  const char* (*check)(const std::string& value) = nullptr;  // a problem, or nullptr when fine
};

Rule AtLeast(double value) {
  Rule rule;
  rule.lower = Inclusive(value);
  return rule;
}

Rule Positive() {
  Rule rule;
  rule.lower = Exclusive(0.0);
  return rule;
}

Rule Between(Bound lower, Bound upper) {
  Rule rule;
  rule.lower = lower;
  rule.upper = upper;
  return rule;
}

Rule OneOf(std::vector<std::string> choices) {
  Rule rule;
  rule.choices = std::move(choices);
  return rule;
}

Rule Registered(NameList names) {
  Rule rule;
  rule.registered = names;
  return rule;
}

Rule Checked(const char* (*check)(const std::string&)) {
  Rule rule;
  rule.check = check;
  return rule;
}

// The CSV reader is the authority on delimiters.
const char* CsvDelimiter(const std::string& value) {
  return CsvOptionsForDelimiter(value).ok()
             ? nullptr
             : "must be one character (quote it: \";\"), tab, space or whitespace";
}

const char* NonEmpty(const std::string& value) {
  return value.empty() ? "must not be empty" : nullptr;
}

struct Field {
  Field(absl::string_view key, FieldAccessor ref, Rule rule = {})
      : key(key), ref(ref), rule(std::move(rule)) {}
  absl::string_view key;
  FieldAccessor ref;
  Rule rule;
};

struct Section {
  absl::string_view name;  // "" for the top-level keys
  std::vector<Field> fields;
};

constexpr std::pair<absl::string_view, MissingPolicy> kMissingPolicyNames[] = {
    {"drop", MissingPolicy::kDrop}, {"impute", MissingPolicy::kImpute}};

// Binds a key to a member of ExperimentConfig, e.g. MEMBER(privacy.epsilon).
#define MEMBER(path) [](ExperimentConfig& c) -> FieldRef { return &c.path; }

// Every key of an experiment file, in the order ExperimentConfigToYaml writes them.
// Keep docs/config.md in step with this table.
const std::vector<Section>& Schema() {
  static const std::vector<Section>* const kSchema = new std::vector<Section>{
      {"", {{"seed", MEMBER(seed), AtLeast(0)}}},
      {"data",
       {{"dataset", MEMBER(data.dataset), Registered(&RegisteredDataLoaderNames)},
        {"dir", MEMBER(data.dir)},
        {"train", MEMBER(data.csv.train)},
        {"test", MEMBER(data.csv.test)},
        {"test_fraction", MEMBER(data.csv.test_fraction), Between(Inclusive(0), Exclusive(1))},
        {"label", MEMBER(data.csv.label)},
        {"positive", MEMBER(data.csv.positive)},
        {"categorical", MEMBER(data.csv.categorical)},
        {"drop", MEMBER(data.csv.drop)},
        {"header", MEMBER(data.csv.header)},
        {"delimiter", MEMBER(data.csv.delimiter), Checked(&CsvDelimiter)},
        {"standardize", MEMBER(data.csv.standardize)},
        {"classes", MEMBER(data.csv.classes)},
        {"sensitive", MEMBER(data.sensitive)},
        {"groups", MEMBER(data.csv.groups)},
        {"schema", MEMBER(data.csv.schema)},
        {"rename", MEMBER(data.csv.rename)},
        {"recode", MEMBER(data.csv.recode)},
        {"label_map", MEMBER(data.label_map), OneOf({"", "parity"})},
        {"pca", MEMBER(data.pca), AtLeast(0)},
        {"missing", MEMBER(data.missing)},
        {"max_train", MEMBER(data.max_train), AtLeast(0)},
        {"validation", MEMBER(data.validation), Between(Inclusive(0), Exclusive(1))}}},
      {"partition",
       {{"scheme", MEMBER(partition.scheme),
         OneOf({"iid", "contiguous", "dirichlet", "shards", "label_per_silo", "by_attribute", "even_odd_pairs",
                "per_fedavg_split"})},
        {"silos", MEMBER(partition.silos), Between(Inclusive(1), Inclusive(kMaxSilos))},
        {"alpha", MEMBER(partition.alpha), Positive()},
        {"labels_per_silo", MEMBER(partition.labels_per_silo), AtLeast(1)},
        {"attribute", MEMBER(partition.attribute)},
        {"h", MEMBER(partition.h), Between(Inclusive(0), Inclusive(1))},
        {"p", MEMBER(partition.p), Between(Inclusive(0), Inclusive(1))},
        {"per_class", MEMBER(partition.per_class), AtLeast(0)}}},
      {"model",
       {{"type", MEMBER(model.type), Registered(&RegisteredModelNames)},
        {"hidden", MEMBER(model.hidden), AtLeast(1)},
        {"activation", MEMBER(model.activation), OneOf({"relu", "elu", "tanh", "sigmoid"})},
        {"init_scale", MEMBER(model.init_scale), AtLeast(0)}}},
      {"algorithm",
       {{"name", MEMBER(algorithm.name), Registered(&RegisteredAlgorithmNames)},
        {"rounds", MEMBER(algorithm.rounds), AtLeast(1)},
        {"average_last", MEMBER(algorithm.average_last), AtLeast(0)},  // <= rounds: below
        {"silos_per_round", MEMBER(algorithm.silos_per_round), AtLeast(0)},  // <= silos: below
        {"local_steps", MEMBER(algorithm.local_steps), AtLeast(1)},
        {"batch_size", MEMBER(algorithm.batch_size), AtLeast(1)},
        {"lr", MEMBER(algorithm.lr), Positive()},
        {"server_lr", MEMBER(algorithm.server_lr), Positive()},
        {"weighting", MEMBER(algorithm.weighting), OneOf({"size", "uniform"})},
        {"server_optimizer", MEMBER(algorithm.server_optimizer),
         OneOf({"sgd", "momentum", "adam", "yogi"})},
        {"server_beta1", MEMBER(algorithm.server_beta1), Between(Inclusive(0), Exclusive(1))},
        {"server_beta2", MEMBER(algorithm.server_beta2), Between(Inclusive(0), Exclusive(1))},
        {"server_tau", MEMBER(algorithm.server_tau), Positive()},
        {"prox_mu", MEMBER(algorithm.prox_mu), AtLeast(0)},
        {"variant", MEMBER(algorithm.variant), OneOf({"fo", "hf", "exact"})},
        {"alpha", MEMBER(algorithm.alpha), AtLeast(0)},
        {"beta", MEMBER(algorithm.beta), AtLeast(0)},
        {"delta", MEMBER(algorithm.delta), Positive()},
        {"outer_batch_size", MEMBER(algorithm.outer_batch_size), AtLeast(0)},
        {"hessian_batch_size", MEMBER(algorithm.hessian_batch_size), AtLeast(0)},
        {"personalize_steps", MEMBER(algorithm.personalize_steps), AtLeast(0)}}},
      {"fairness",
       {{"notion", MEMBER(algorithm.fairness.notion),
         OneOf({"demographic_parity", "equalized_odds", "equal_opportunity"})},
        {"lambda", MEMBER(algorithm.fairness.lambda), AtLeast(0)},
        {"w_radius", MEMBER(algorithm.fairness.w_radius), Positive()},
        {"w_lr", MEMBER(algorithm.fairness.w_lr), AtLeast(0)},
        {"w_clip", MEMBER(algorithm.fairness.w_clip), AtLeast(0)},
        {"marginals", MEMBER(algorithm.fairness.marginals),
         OneOf({"auto", "pooled", "public", "local"})},
        {"group_marginals", MEMBER(algorithm.fairness.group_marginals),
         Between(Exclusive(0), Inclusive(1))},
        {"marginals_epsilon_fraction", MEMBER(algorithm.fairness.marginals_epsilon_fraction),
         Between(Exclusive(0), Exclusive(1))},
        {"marginals_noise_multiplier", MEMBER(algorithm.fairness.marginals_noise_multiplier),
         AtLeast(0)}}},
      {"privacy",
       {{"epsilon", MEMBER(privacy.epsilon), Positive()},
        {"delta", MEMBER(privacy.delta), Between(Inclusive(0), Exclusive(1))},
        {"clip", MEMBER(privacy.clip), Positive()},
        {"sampling", MEMBER(privacy.sampling),
         OneOf({"poisson", "without_replacement", "with_replacement"})},
        {"calibration", MEMBER(privacy.calibration), OneOf({"rdp", "paper"})},
        {"planned_rounds", MEMBER(privacy.planned_rounds), AtLeast(0)},
        {"secure_noise", MEMBER(privacy.secure_noise)},
        {"min_silo_records", MEMBER(privacy.min_silo_records), AtLeast(0)}}},
      {"output",
       {{"dir", MEMBER(output.dir), Checked(&NonEmpty)},
        {"eval_every", MEMBER(output.eval_every), AtLeast(1)},
        {"save_model", MEMBER(output.save_model)}}},
      {"network",
       {{"min_silos", MEMBER(network.min_silos), AtLeast(0)},
        {"join_timeout_seconds", MEMBER(network.join_timeout_seconds),
         Between(Exclusive(0), Inclusive(kMaxTimeoutSeconds))},
        {"round_timeout_seconds", MEMBER(network.round_timeout_seconds),
         Between(Exclusive(0), Inclusive(kMaxTimeoutSeconds))},
        {"min_replies", MEMBER(network.min_replies), AtLeast(1)},
        {"max_message_mb", MEMBER(network.max_message_mb), Between(Exclusive(0), Inclusive(2047))},
        {"keepalive_seconds", MEMBER(network.keepalive_seconds),
         Between(Inclusive(0.1), Inclusive(3600))},
        {"hello_timeout_seconds", MEMBER(network.hello_timeout_seconds),
         Between(Exclusive(0), Inclusive(kMaxTimeoutSeconds))},
        {"silos", MEMBER(network.silos)}}},
  };
  return *kSchema;
}

#undef MEMBER

// Constraints that tie a key to another one: when `key` equals `value`, `required` must be set.
struct Requirement {
  absl::string_view key;
  absl::string_view value;
  absl::string_view required;
  absl::string_view what;
  absl::string_view unless = "";  // a key that, when set, makes `required` unnecessary
};
constexpr Requirement kRequirements[] = {
    {"data.dataset", "csv", "data.train", "the training CSV file"},
    {"data.dataset", "csv", "data.label", "the label column", "data.schema"},
};

const Section* FindSection(absl::string_view name) {
  for (const Section& section : Schema()) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

const Field* FindField(const Section& section, absl::string_view key) {
  for (const Field& field : section.fields) {
    if (field.key == key) return &field;
  }
  return nullptr;
}

// "algorithm.lr" -> its field; nullptr when unknown.
const Field* FindFieldByPath(absl::string_view path) {
  const size_t dot = path.find('.');
  const Section* section = FindSection(dot == absl::string_view::npos ? "" : path.substr(0, dot));
  if (section == nullptr) return nullptr;
  return FindField(*section, dot == absl::string_view::npos ? path : path.substr(dot + 1));
}

// Whether `key`, found inside `parent`, names a section (sections sit only at the top level).
bool IsSectionName(const Section& parent, absl::string_view key) {
  return parent.name.empty() && !key.empty() && FindSection(key) != nullptr;
}

std::string JoinPath(absl::string_view section, absl::string_view key) {
  return section.empty() ? std::string(key) : absl::StrCat(section, ".", key);
}

// ------------------------------------------------------------------------------ "did you mean"

std::string Lower(absl::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal-string-alignment distance (edits plus adjacent transpositions), case-insensitive.
int EditDistance(absl::string_view a_in, absl::string_view b_in) {
  const std::string a = Lower(a_in);
  const std::string b = Lower(b_in);
  std::vector<std::vector<int>> d(a.size() + 1, std::vector<int>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The candidate closest to `word`, if it is close enough to be a plausible misspelling.
std::optional<std::string> Closest(absl::string_view word,
                                   const std::vector<std::string>& candidates) {
  const int threshold = std::max<int>(1, static_cast<int>(word.size()) / 3);
  std::optional<std::string> best;
  int best_distance = std::numeric_limits<int>::max();
  for (const std::string& candidate : candidates) {
    const int distance = EditDistance(word, candidate);
    if (distance <= threshold && distance < static_cast<int>(candidate.size()) &&
        distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::vector<std::string> SectionNames() {
  std::vector<std::string> names;
  for (const Section& section : Schema()) {
    if (!section.name.empty()) names.emplace_back(section.name);
  }
  return names;
}

// The keys allowed directly inside `section` ("" = the top level: its keys plus section names).
std::vector<std::string> KnownKeys(const Section& section) {
  std::vector<std::string> keys;
  for (const Field& field : section.fields) keys.emplace_back(field.key);
  if (section.name.empty()) {
    for (std::string& name : SectionNames()) keys.push_back(std::move(name));
  }
  return keys;
}

// "unknown key (did you mean 'lr'?)", or the same key in another section, or the known keys.
std::string UnknownKeyProblem(const Section& section, absl::string_view key) {
  const std::vector<std::string> known = KnownKeys(section);
  if (std::optional<std::string> close = Closest(key, known)) {
    return absl::StrCat("unknown key (did you mean '", *close, "'?)");
  }
  for (const Section& other : Schema()) {
    if (&other != &section && FindField(other, key) != nullptr) {
      return absl::StrCat("unknown key (did you mean '", JoinPath(other.name, key), "'?)");
    }
  }
  return absl::StrCat("unknown key (known keys: ", absl::StrJoin(known, ", "), ")");
}

// ------------------------------------------------------------------------------ scalar parsing

// A YAML scalar for messages: the text in quotes, or what kind of node it is.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      // A quoted scalar is a string in YAML, even when it looks like a number.
      return absl::StrCat("'", node.Scalar(), "'",
                          node.Tag() == "!" ? " (quoted, so a string)" : "");
    default:
      return "nothing";
  }
}

// Plain (unquoted) scalars only: a quoted "3" is a string, not a number.
bool IsPlainScalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() != "!"; }

// A finite decimal number written in full (no trailing text); a leading '+' is allowed.
std::optional<double> ParseDouble(absl::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0.0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

// A decimal integer written in full that fits T exactly; a leading '+' is allowed.
template <typename T>
std::optional<T> ParseExactInteger(absl::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Shortest text that reads back as exactly `value`, always recognisable as a float ("1.0").
std::string FormatDouble(double value) {
  char buffer[64];
  const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, ec == std::errc() ? ptr : buffer);
  if (std::isfinite(value) && text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string FormatBound(double value) {
  // Whole bounds as written in the schema: 100000, not 1e+05.
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  std::string text = FormatDouble(value);
  if (absl::EndsWith(text, ".0")) text.resize(text.size() - 2);
  return text;
}

// "must be > 0", "must be in [0, 1)", or "" when `value` satisfies the bounds.
std::string BoundProblem(const Rule& rule, double value) {
  const bool low_ok = !rule.lower || (rule.lower->inclusive ? value >= rule.lower->value
                                                            : value > rule.lower->value);
  const bool high_ok = !rule.upper || (rule.upper->inclusive ? value <= rule.upper->value
                                                             : value < rule.upper->value);
  if (low_ok && high_ok) return "";
  if (rule.lower && rule.upper) {
    return absl::StrCat("must be in ", rule.lower->inclusive ? "[" : "(",
                        FormatBound(rule.lower->value), ", ", FormatBound(rule.upper->value),
                        rule.upper->inclusive ? "]" : ")");
  }
  const Bound& bound = rule.lower ? *rule.lower : *rule.upper;
  const char* op = rule.lower ? (bound.inclusive ? ">=" : ">") : (bound.inclusive ? "<=" : "<");
  return absl::StrCat("must be ", op, " ", FormatBound(bound.value));
}

std::string QuoteChoice(const std::string& choice) { return choice.empty() ? "\"\"" : choice; }

// "" when `value` is allowed by the rule's choices, registry and check; otherwise the problem.
std::string StringProblem(const Rule& rule, const std::string& value) {
  std::vector<std::string> allowed = rule.choices;
  if (rule.registered != nullptr) allowed = rule.registered();
  if ((rule.registered != nullptr || !allowed.empty()) &&
      std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::vector<std::string> shown;
    for (const std::string& choice : allowed) shown.push_back(QuoteChoice(choice));
    std::string problem =
        absl::StrCat("unknown value '", value, "' (allowed: ", absl::StrJoin(shown, " | "));
    if (std::optional<std::string> close = Closest(value, allowed)) {
      absl::StrAppend(&problem, "; did you mean '", *close, "'?");
    }
    return problem + ")";
  }
  if (rule.check != nullptr) {
    if (const char* problem = rule.check(value)) {
      return absl::StrCat(problem, ", got '", value, "'");
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------- the decoder

// Decodes a YAML tree into an ExperimentConfig, field by field, remembering where each value came
// from (FILE:LINE, or --set for overridden keys) so that messages can point at it.
class Decoder {
 public:
  Decoder(std::string file, std::set<std::string> overridden)
      : file_(std::move(file)), overridden_(std::move(overridden)) {}

  // Where a value sits, for messages about it: the key's line for the key's own value (a value's
  // mark can be lines below its key, e.g. a null or a block map), an element's line for a list
  // element.
  struct Site {
    const Decoder* decoder;
    std::string field_path;  // the key, as --set names it ("model.hidden")
    std::string path;        // what the message names ("model.hidden[1]")
    YAML::Mark mark;

    Site Element(size_t index, const YAML::Node& element) const {
      return {decoder, field_path, absl::StrCat(path, "[", index, "]"), element.Mark()};
    }
    absl::Status Fail(absl::string_view problem) const {
      return absl::InvalidArgumentError(
          absl::StrCat(decoder->Prefix(field_path, mark), path, path.empty() ? "" : ": ", problem));
    }
  };

  // "exp.yaml:12: ", or "--set " for a key given as an override, or "exp.yaml: " without a line.
  std::string Prefix(absl::string_view field_path, const YAML::Mark& mark) const {
    if (overridden_.count(std::string(field_path)) > 0) return "--set ";
    if (!mark.is_null()) return absl::StrCat(file_, ":", mark.line + 1, ": ");
    return absl::StrCat(file_, ": ");
  }

  // An error about a key decoded earlier, at its line (the file name alone if it was not given).
  absl::Status ErrorAt(absl::string_view path, absl::string_view problem) const {
    auto it = prefixes_.find(std::string(path));
    return absl::InvalidArgumentError(
        absl::StrCat(it != prefixes_.end() ? it->second : Prefix(path, YAML::Mark::null_mark()),
                     path, ": ", problem));
  }

  absl::Status Error(absl::string_view path, const YAML::Mark& mark,
                     absl::string_view problem) const {
    return Site{this, std::string(path), std::string(path), mark}.Fail(problem);
  }

  absl::Status DecodeRoot(const YAML::Node& root, ExperimentConfig& config) {
    if (root.IsNull()) return absl::OkStatus();
    if (!root.IsMap()) {
      return Error("", root.Mark(),
                   "expected a map of sections at the top level, got " + Describe(root));
    }
    return DecodeMap(*FindSection(""), root, config);
  }

 private:
  // The keys of one section (or of the top level, whose maps are sections).
  absl::Status DecodeMap(const Section& section, const YAML::Node& map, ExperimentConfig& config) {
    std::set<std::string> seen;
    for (const auto& entry : map) {  // entries are values (a pair of node handles)
      const YAML::Node& key_node = entry.first;
      const YAML::Node& value = entry.second;
      const YAML::Mark mark = key_node.Mark();
      if (!key_node.IsScalar()) {
        return Error(section.name, mark, "keys must be plain names, got " + Describe(key_node));
      }
      const std::string key = key_node.Scalar();
      const std::string path = JoinPath(section.name, key);
      if (!seen.insert(key).second) return Error(path, mark, "duplicate key");
      if (const Field* field = FindField(section, key)) {
        prefixes_[path] = Prefix(path, mark);
        config.given_keys.insert(path);
        const Site site{this, path, path, mark};
        FEDSILO_RETURN_IF_ERROR(
            std::visit([&](auto* member) { return Decode(value, field->rule, site, member); },
                       field->ref(config)));
      } else if (const Section* sub = IsSectionName(section, key) ? FindSection(key) : nullptr) {
        // A section is a map of keys, or empty (`privacy:` alone keeps every default).
        if (!value.IsNull() && !value.IsMap()) {
          return Error(path, mark, "expected a map of keys, got " + Describe(value));
        }
        if (value.IsMap()) FEDSILO_RETURN_IF_ERROR(DecodeMap(*sub, value, config));
      } else {
        return Error(path, mark, UnknownKeyProblem(section, key));
      }
    }
    return absl::OkStatus();
  }

  template <typename T>
  static absl::Status DecodeInteger(const YAML::Node& node, const Rule& rule, const Site& site,
                                    T* out) {
    const std::string expected = absl::StrCat("expected an integer, got ", Describe(node));
    if (!IsPlainScalar(node)) return site.Fail(expected);
    const std::optional<double> value = ParseDouble(node.Scalar());
    if (!value || std::floor(*value) != *value) return site.Fail(expected);
    if (std::string problem = BoundProblem(rule, *value); !problem.empty()) {
      return site.Fail(absl::StrCat(problem, ", got ", node.Scalar()));
    }
    if (std::optional<T> exact = ParseExactInteger<T>(node.Scalar())) {
      *out = *exact;
      return absl::OkStatus();
    }
    // Whole numbers written as floats ("1e3", "2.0") are fine when they convert exactly.
    constexpr double kExact = 9007199254740992.0;  // 2^53
    if (std::fabs(*value) <= kExact &&
        *value >= static_cast<double>(std::numeric_limits<T>::min()) &&
        *value <= static_cast<double>(std::numeric_limits<T>::max())) {
      *out = static_cast<T>(*value);
      return absl::OkStatus();
    }
    return site.Fail(absl::StrCat("out of range (at most ", std::numeric_limits<T>::max(),
                                  "), got ", node.Scalar()));
  }

  static absl::Status Decode(const YAML::Node& node, const Rule& rule, const Site& site, int* out) {
    return DecodeInteger(node, rule, site, out);
  }

  static absl::Status Decode(const YAML::Node& node, const Rule& rule, const Site& site,
                             unsigned long long* out) {
    return DecodeInteger(node, rule, site, out);
  }

  static absl::Status Decode(const YAML::Node& node, const Rule& rule, const Site& site,
                             double* out) {
    const std::optional<double> value =
        IsPlainScalar(node) ? ParseDouble(node.Scalar()) : std::nullopt;
    if (!value) return site.Fail("expected a number, got " + Describe(node));
    if (std::string problem = BoundProblem(rule, *value); !problem.empty()) {
      return site.Fail(absl::StrCat(problem, ", got ", node.Scalar()));
    }
    *out = *value;
    return absl::OkStatus();
  }

  static absl::Status Decode(const YAML::Node& node, const Rule&, const Site& site, bool* out) {
    bool value = false;
    if (!IsPlainScalar(node) || !YAML::convert<bool>::decode(node, value)) {
      return site.Fail("expected true or false, got " + Describe(node));
    }
    *out = value;
    return absl::OkStatus();
  }

  static absl::Status Decode(const YAML::Node& node, const Rule& rule, const Site& site,
                             std::string* out) {
    if (!node.IsNull() && !node.IsScalar()) {
      return site.Fail("expected a string, got " + Describe(node));
    }
    std::string value = node.IsNull() ? "" : node.Scalar();
    if (std::string problem = StringProblem(rule, value); !problem.empty()) {
      return site.Fail(problem);
    }
    *out = std::move(value);
    return absl::OkStatus();
  }

  static absl::Status Decode(const YAML::Node& node, const Rule&, const Site& site,
                             MissingPolicy* out) {
    std::vector<std::string> names;
    for (const auto& [name, policy] : kMissingPolicyNames) names.emplace_back(name);
    std::string text;
    FEDSILO_RETURN_IF_ERROR(Decode(node, OneOf(names), site, &text));
    for (const auto& [name, policy] : kMissingPolicyNames) {
      if (name == text) *out = policy;
    }
    return absl::OkStatus();
  }

  // A list; its rule applies to each element. `key:` alone is an empty list.
  template <typename T>
  static absl::Status Decode(const YAML::Node& node, const Rule& rule, const Site& site,
                             std::vector<T>* out) {
    if (node.IsNull()) {
      out->clear();
      return absl::OkStatus();
    }
    if (!node.IsSequence()) {
      return site.Fail(absl::StrCat("expected a list, got ", Describe(node),
                                    node.IsScalar() ? " (write a list: [a, b])" : ""));
    }
    std::vector<T> values(node.size());
    for (size_t i = 0; i < node.size(); ++i) {
      FEDSILO_RETURN_IF_ERROR(Decode(node[i], rule, site.Element(i, node[i]), &values[i]));
    }
    *out = std::move(values);
    return absl::OkStatus();
  }

  std::string file_;
  std::set<std::string> overridden_;
  std::map<std::string, std::string> prefixes_;  // decoded key path -> its Prefix()
};

// ------------------------------------------------------------------------------------ overrides

bool IsNullSpelling(absl::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// The value of "key=value" as a YAML node. Text that is not valid YAML (or that yaml-cpp reads as
// null although it does not spell null, such as ",") is taken as a plain string.
YAML::Node ParseOverrideValue(const std::string& text) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  try {
    YAML::Node node = YAML::Load(text);
    if (!node.IsNull() || IsNullSpelling(trimmed)) return node;
  } catch (const YAML::Exception&) {
  }
  return YAML::Node(std::string(trimmed));
}

// Checks "section.key" (or a top-level key) against the schema; returns the canonical path.
absl::StatusOr<std::pair<std::string, std::string>> CheckOverridePath(absl::string_view path) {
  const Section& top = *FindSection("");
  const std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  auto unknown = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("--set ", path, ": ", problem));
  };
  if (parts.size() == 1) {
    if (FindField(top, parts[0]) != nullptr) {
      return std::make_pair(std::string(), std::string(path));
    }
    if (IsSectionName(top, parts[0])) {
      return unknown(absl::StrCat("set one key of the section at a time (e.g. ", parts[0], ".",
                                  FindSection(parts[0])->fields.front().key, "=...), or ",
                                  parts[0], "=none to remove the section"));
    }
    return unknown(UnknownKeyProblem(top, parts[0]));
  }
  const Section* section = IsSectionName(top, parts[0]) ? FindSection(parts[0]) : nullptr;
  if (section == nullptr) {
    const std::vector<std::string> names = SectionNames();
    std::optional<std::string> close = Closest(parts[0], names);
    return unknown(close
                       ? absl::StrCat("unknown section (did you mean '", *close, "'?)")
                       : absl::StrCat("unknown section (known: ", absl::StrJoin(names, ", "), ")"));
  }
  if (parts.size() > 2) {
    if (FindField(*section, parts.back()) != nullptr) {
      return unknown(absl::StrCat("unknown key (did you mean '",
                                  JoinPath(section->name, parts.back()), "'?)"));
    }
    return unknown("unknown key (keys are section.key)");
  }
  if (FindField(*section, parts[1]) == nullptr) {
    return unknown(UnknownKeyProblem(*section, parts[1]));
  }
  return std::make_pair(std::string(parts[0]), std::string(parts[1]));
}

// Applies "key.path=value" strings to the tree; returns the paths they set. A top level or a
// section that is not a map is left alone: the decoder reports it with its line.
absl::StatusOr<std::set<std::string>> ApplyOverrides(YAML::Node& root,
                                                     const std::vector<std::string>& overrides) {
  std::set<std::string> paths;
  for (const std::string& item : overrides) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--set ", item, ": expected key.path=value (e.g. privacy.epsilon=2)"));
    }
    const std::string path(absl::StripAsciiWhitespace(absl::string_view(item).substr(0, eq)));
    // "section=none" removes a whole section (e.g. privacy=none: the non-private baseline of a
    // private config); its keys take their defaults, as if the file had no such section.
    if (IsSectionName(*FindSection(""), path) &&
        absl::StripAsciiWhitespace(absl::string_view(item).substr(eq + 1)) == "none") {
      if (root.IsMap()) root.remove(path);
      for (auto it = paths.begin(); it != paths.end();) {  // earlier overrides of it go too
        it = it->rfind(path + ".", 0) == 0 ? paths.erase(it) : std::next(it);
      }
      continue;
    }
    FEDSILO_ASSIGN_OR_RETURN(auto section_key, CheckOverridePath(path));
    const auto& [section, key] = section_key;
    paths.insert(JoinPath(section, key));
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) continue;
    YAML::Node value = ParseOverrideValue(item.substr(eq + 1));
    if (section.empty()) {
      root[key] = value;
    } else if (YAML::Node existing = root[section];
               !existing.IsDefined() || existing.IsNull() || existing.IsMap()) {
      root[section][key] = value;
    }
  }
  return paths;
}

// ----------------------------------------------------------------------------- after decoding

// "isrl_dp_NAME" when that private variant of a non-private algorithm exists, else "".
std::string PrivateVariantOf(const std::string& name) {
  const std::string candidate = "isrl_dp_" + name;
  return FindAlgorithm(candidate).ok() ? candidate : "";
}

absl::Status CheckCrossField(const ExperimentConfig& config, const Decoder& decoder,
                             bool privacy_section_given) {
  if (absl::StatusOr<AlgorithmSpec> spec = FindAlgorithm(config.algorithm.name);
      spec.ok() && !spec->record_level_dp && !spec->trusted_server && privacy_section_given) {
    const std::string variant = PrivateVariantOf(config.algorithm.name);
    return absl::InvalidArgumentError(absl::StrCat(
        decoder.Prefix("privacy", YAML::Mark::null_mark()), "privacy: algorithm '",
        config.algorithm.name, "' is not private, so this section would be silently ignored and "
        "the run would not be private; ",
        variant.empty() ? "choose a private algorithm (isrl_dp_..., sdp_minibatch_sgd)"
                        : "use '" + variant + "'",
        ", or remove the privacy section"));
  }
  const int asked_per_round = config.algorithm.silos_per_round > 0
                                  ? config.algorithm.silos_per_round
                                  : config.partition.silos;
  if (config.network.min_replies > asked_per_round) {
    return decoder.ErrorAt(
        "network.min_replies",
        absl::StrCat("must be at most the silos asked per round (", asked_per_round,
                     config.algorithm.silos_per_round > 0 ? ", algorithm.silos_per_round"
                                                          : ", partition.silos",
                     "), got ", config.network.min_replies, ": no round could reach quorum"));
  }
  if (config.algorithm.average_last > config.algorithm.rounds) {
    return decoder.ErrorAt(
        "algorithm.average_last",
        absl::StrCat("must be in [0, algorithm.rounds] = [0, ", config.algorithm.rounds, "], got ",
                     config.algorithm.average_last));
  }
  if (config.algorithm.silos_per_round > config.partition.silos) {
    return decoder.ErrorAt(
        "algorithm.silos_per_round",
        absl::StrCat("must be in [0, partition.silos] = [0, ", config.partition.silos, "], got ",
                     config.algorithm.silos_per_round));
  }
  if (config.network.min_silos > config.partition.silos) {
    return decoder.ErrorAt("network.min_silos",
                           absl::StrCat("must be in [0, partition.silos] = [0, ",
                                        config.partition.silos, "], got ",
                                        config.network.min_silos));
  }
  if (!config.network.silos.empty()) {
    if (static_cast<int>(config.network.silos.size()) != config.partition.silos) {
      return decoder.ErrorAt(
          "network.silos",
          absl::StrCat("the roster names ", config.network.silos.size(),
                       " silos but partition.silos is ", config.partition.silos));
    }
    std::vector<std::string> names = config.network.silos;
    std::sort(names.begin(), names.end());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) return decoder.ErrorAt("network.silos", "a silo name is empty");
      if (i > 0 && names[i] == names[i - 1]) {
        return decoder.ErrorAt("network.silos", "silo name '" + names[i] + "' appears twice");
      }
    }
  }
  if (config.privacy.sampling == "with_replacement" && config.privacy.calibration != "paper") {
    return decoder.ErrorAt(
        "privacy.sampling",
        "with_replacement has no privacy accountant; use poisson or without_replacement, or "
        "calibration: paper (whose epsilon is then an uncertified target)");
  }
  // Constraints an algorithm puts on its own keys ("algorithm.key: problem").
  if (absl::StatusOr<AlgorithmSpec> spec = FindAlgorithm(config.algorithm.name); spec.ok()) {
    if (absl::Status status = ValidateAlgorithmConfig(*spec, config.algorithm); !status.ok()) {
      const absl::string_view message = status.message();
      const size_t colon = message.find(": ");
      if (colon != absl::string_view::npos && FindFieldByPath(message.substr(0, colon))) {
        return decoder.ErrorAt(message.substr(0, colon), message.substr(colon + 2));
      }
      return decoder.ErrorAt("algorithm.name", message);
    }
  }
  ExperimentConfig copy = config;  // accessors hand out mutable pointers
  auto text_of = [&](absl::string_view path) {
    const std::string* text = std::get<std::string*>(FindFieldByPath(path)->ref(copy));
    return *text;
  };
  for (const Requirement& requirement : kRequirements) {
    if (text_of(requirement.key) == requirement.value && text_of(requirement.required).empty() &&
        (requirement.unless.empty() || text_of(requirement.unless).empty())) {
      return decoder.ErrorAt(
          requirement.key, absl::StrCat("'", requirement.value, "' requires ", requirement.required,
                                        " (", requirement.what, ")"));
    }
  }
  return absl::OkStatus();
}

void ResolveAgainst(const fs::path& base, std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return;
  path = (base / path).lexically_normal().string();
}

absl::StatusOr<ExperimentConfig> Parse(const std::string& yaml_text, const std::string& source_name,
                                       const std::vector<std::string>& overrides,
                                       const fs::path& base_dir) {
  const std::string file = source_name.empty() ? "<string>" : source_name;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    const std::string where = e.mark.is_null() ? file : absl::StrCat(file, ":", e.mark.line + 1);
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": invalid YAML: ", e.msg,
                     e.mark.is_null() ? "" : absl::StrCat(" (column ", e.mark.column + 1, ")")));
  }
  try {
    FEDSILO_ASSIGN_OR_RETURN(std::set<std::string> overridden, ApplyOverrides(root, overrides));
    const YAML::Node& tree = root;  // const: looking a key up must not create it
    const bool privacy_section_given =
        std::any_of(overridden.begin(), overridden.end(),
                    [](const std::string& path) { return path.rfind("privacy.", 0) == 0; }) ||
        (tree.IsMap() && tree["privacy"].IsDefined() && !tree["privacy"].IsNull());
    Decoder decoder(file, std::move(overridden));
    ExperimentConfig config;
    FEDSILO_RETURN_IF_ERROR(decoder.DecodeRoot(root, config));
    if (absl::StatusOr<AlgorithmSpec> spec = FindAlgorithm(config.algorithm.name);
        spec.ok() && spec->resolve_defaults) {
      spec->resolve_defaults(&config.algorithm);
    }
    FEDSILO_RETURN_IF_ERROR(CheckCrossField(config, decoder, privacy_section_given));
    config.data.seed = config.seed;
    ResolveAgainst(base_dir, config.data.csv.train);
    ResolveAgainst(base_dir, config.data.csv.test);
    ResolveAgainst(base_dir, config.data.csv.schema);
    ResolveAgainst(base_dir, config.data.dir);
    config.source_path = source_name;
    return config;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(file, ": unexpected error while reading: ", e.what()));
  }
}

// ------------------------------------------------------------------------------------- emission

void Emit(YAML::Emitter& out, int value) { out << value; }
void Emit(YAML::Emitter& out, unsigned long long value) { out << value; }
void Emit(YAML::Emitter& out, double value) { out << FormatDouble(value); }
void Emit(YAML::Emitter& out, bool value) { out << (value ? "true" : "false"); }
void Emit(YAML::Emitter& out, const std::string& value) { out << value; }
void Emit(YAML::Emitter& out, MissingPolicy value) {
  for (const auto& [name, policy] : kMissingPolicyNames) {
    if (policy == value) out << std::string(name);
  }
}
template <typename T>
void Emit(YAML::Emitter& out, const std::vector<T>& values) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const T& value : values) Emit(out, value);
  out << YAML::EndSeq;
}

}  // namespace

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path,
                                                      const std::vector<std::string>& overrides) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("experiment file not found: ", path));
  }
  if (fs::is_directory(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, not an experiment file"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the experiment file"));
  }
  fs::path base = fs::absolute(fs::path(path), error).parent_path();
  if (error) base = fs::path(path).parent_path();
  return Parse(text.str(), path, overrides, base);
}

absl::StatusOr<ExperimentConfig> ParseExperimentConfig(const std::string& yaml_text,
                                                       const std::string& source_name,
                                                       const std::vector<std::string>& overrides) {
  std::error_code error;
  fs::path base = fs::current_path(error);
  if (error) base = ".";
  return Parse(yaml_text, source_name, overrides, base);
}

std::optional<ConfigDifference> FirstConfigDifference(const ExperimentConfig& a,
                                                      const ExperimentConfig& b,
                                                      const std::vector<std::string>& sections) {
  ExperimentConfig copy_a = a, copy_b = b;  // the schema's accessors hand out mutable pointers
  auto render = [](ExperimentConfig& config, const Field& field) {
    YAML::Emitter out;
    std::visit([&](const auto* member) { Emit(out, *member); }, field.ref(config));
    return std::string(out.c_str());
  };
  for (const Section& section : Schema()) {
    if (std::find(sections.begin(), sections.end(), std::string(section.name)) == sections.end()) {
      continue;
    }
    for (const Field& field : section.fields) {
      std::string value_a = render(copy_a, field), value_b = render(copy_b, field);
      if (value_a != value_b) {
        return ConfigDifference{JoinPath(section.name, field.key), std::move(value_a),
                                std::move(value_b)};
      }
    }
  }
  return std::nullopt;
}

std::string ExperimentConfigToYaml(const ExperimentConfig& config) {
  ExperimentConfig copy = config;  // the schema's accessors hand out mutable pointers
  YAML::Emitter out;
  out << YAML::BeginMap;
  const absl::StatusOr<AlgorithmSpec> spec = FindAlgorithm(config.algorithm.name);
  const bool is_private = spec.ok() && (spec->record_level_dp || spec->trusted_server);
  for (const Section& section : Schema()) {
    // A non-private run has no privacy section (the parser refuses one there); a trusted-server
    // baseline has one (its coordinator's noise is calibrated from it).
    if (section.name == "privacy" && !is_private) continue;
    if (!section.name.empty()) {
      out << YAML::Key << std::string(section.name) << YAML::Value << YAML::BeginMap;
    }
    for (const Field& field : section.fields) {
      out << YAML::Key << std::string(field.key) << YAML::Value;
      std::visit([&](const auto* member) { Emit(out, *member); }, field.ref(copy));
    }
    if (!section.name.empty()) out << YAML::EndMap;
  }
  out << YAML::EndMap;
  std::string header =
      "# fedsilo experiment config, fully resolved: every key, defaults included.\n";
  if (!config.source_path.empty()) absl::StrAppend(&header, "# source: ", config.source_path, "\n");
  return absl::StrCat(header, out.c_str(), "\n");
}

}  // namespace fedsilo
