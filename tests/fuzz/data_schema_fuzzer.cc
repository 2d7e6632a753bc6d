// Fuzz target: a silo's CSV file read by the shared data schema, the path of
// `fedsilo check-data` and of a `csv` config with data.schema (common/data/data_schema.h):
// ParseDataSchema -> ParseSchemaMapping -> CsvOptionsForDelimiter -> ParseCsv ->
// TableFromCsv(header) -> ReadWithSchema.
// Input: NUL-separated pieces: schema YAML, CSV text, then any number of options: "~X" sets the
// delimiter to X (as --delimiter), "col:file=schema" is a recode, "file=schema" a rename.
// Contract checked: every step returns a value or an error, never crashes or hangs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"

#include "common/data/csv_loader.h"
#include "common/data/csv_reader.h"
#include "common/data/data_schema.h"
#include "common/data/tabular.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> pieces = absl::StrSplit(input, '\0');  // NUL-separated parts
  if (pieces.size() < 2) pieces.emplace_back();
  std::vector<std::string> rename, recode;
  std::string delimiter = ",";
  for (size_t i = 2; i < pieces.size(); ++i) {
    const std::string& option = pieces[i];
    if (!option.empty() && option[0] == '~') {
      delimiter = option.substr(1);
    } else if (option.find(':') < option.find('=')) {
      recode.push_back(option);
    } else {
      rename.push_back(option);
    }
  }
  auto schema = fedsilo::ParseDataSchema(pieces[0], "fuzz_schema.yaml");
  if (!schema.ok()) return 0;
  (void)fedsilo::DataSchemaDigest(*schema);
  auto mapping = fedsilo::ParseSchemaMapping(rename, recode);
  if (!mapping.ok()) return 0;
  auto options = fedsilo::CsvOptionsForDelimiter(delimiter);
  if (!options.ok()) return 0;
  auto rows = fedsilo::ParseCsv(pieces[1], "fuzz.csv", *options);
  if (!rows.ok()) return 0;
  auto table = fedsilo::TableFromCsv(*std::move(rows), "fuzz.csv", /*header=*/true);
  if (!table.ok()) return 0;
  fedsilo::SchemaReadReport report;
  auto dataset = fedsilo::ReadWithSchema(*table, *schema, *mapping, &report);
  if (!dataset.ok()) return 0;
  // What check-data prints next indexes per-class counts by label: a label outside the classes
  // would be a silent wrong value.
  for (int y : dataset->y) {
    if (y < 0 || y >= dataset->num_classes) __builtin_trap();
  }
  return 0;
}
