#include "common/data/csv_reader.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace fedsilo {
namespace {

class Tokenizer {
 public:
  Tokenizer(std::string_view text, const std::string& source, const CsvOptions& options)
      : text_(text), source_(source), options_(options) {}

  absl::StatusOr<CsvRows> Run() {
    SkipLines();
    while (pos_ < text_.size()) {
      FEDSILO_RETURN_IF_ERROR(ParseRecord());
    }
    return std::move(out_);
  }

 private:
  bool IsTrimmable(char c) const {
    return (c == ' ' || c == '\t') && c != options_.delimiter;
  }
  bool AtLineEnd() const { return pos_ >= text_.size() || text_[pos_] == '\n' || text_[pos_] == '\r'; }
  // Consumes one line end ("\n", "\r\n" or a lone "\r") if present.
  void ConsumeLineEnd() {
    if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
    ++line_;
  }
  void SkipLines() {
    for (int i = 0; i < options_.skip_lines && pos_ < text_.size(); ++i) {
      while (!AtLineEnd()) ++pos_;
      ConsumeLineEnd();
    }
  }
  absl::Status Error(int line, const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ":", line, ": ", what));
  }

  absl::Status ParseRecord() {
    const int record_line = line_;
    const size_t first_field = out_.fields.size();
    bool any_content = false;  // a quoted field or a non-blank character
    if (options_.merge_delimiters) {
      while (pos_ < text_.size() && text_[pos_] == options_.delimiter) ++pos_;
    }
    while (true) {
      while (pos_ < text_.size() && IsTrimmable(text_[pos_])) ++pos_;
      std::string field;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        any_content = true;
        const int quote_line = line_;
        ++pos_;
        while (true) {
          if (pos_ >= text_.size()) return Error(quote_line, "unterminated quoted field");
          const char c = text_[pos_];
          if (c == '"') {
            if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
              field.push_back('"');
              pos_ += 2;
              continue;
            }
            ++pos_;
            break;
          }
          if (c == '\n') ++line_;
          field.push_back(c);
          ++pos_;
        }
        while (pos_ < text_.size() && IsTrimmable(text_[pos_])) ++pos_;
        if (!AtLineEnd() && text_[pos_] != options_.delimiter) {
          return Error(line_, absl::StrCat("unexpected character '", std::string(1, text_[pos_]),
                                           "' after a closing quote"));
        }
      } else {
        const size_t start = pos_;
        while (!AtLineEnd() && text_[pos_] != options_.delimiter) ++pos_;
        size_t end = pos_;
        while (end > start && IsTrimmable(text_[end - 1])) --end;
        field.assign(text_.data() + start, end - start);
        if (end > start) any_content = true;
      }
      out_.fields.push_back(std::move(field));
      if (AtLineEnd()) break;
      // At a delimiter.
      any_content = true;
      ++pos_;
      if (options_.merge_delimiters) {
        while (pos_ < text_.size() && text_[pos_] == options_.delimiter) ++pos_;
        if (AtLineEnd()) break;  // trailing delimiters: no empty last field
      }
    }
    ConsumeLineEnd();
    if (!any_content) {  // blank or whitespace-only line
      out_.fields.resize(first_field);
      return absl::OkStatus();
    }
    out_.line.push_back(record_line);
    out_.row_begin.push_back(out_.fields.size());
    return absl::OkStatus();
  }

  std::string_view text_;
  const std::string& source_;
  const CsvOptions& options_;
  size_t pos_ = 0;
  int line_ = 1;
  CsvRows out_;
};

}  // namespace

absl::StatusOr<CsvRows> ParseCsv(std::string_view text, const std::string& source,
                                 const CsvOptions& options) {
  if (options.delimiter == '"' || options.delimiter == '\n' || options.delimiter == '\r') {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": the delimiter cannot be a quote or a line break"));
  }
  // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first column's name.
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  return Tokenizer(text, source, options).Run();
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::NotFoundError(absl::StrCat("cannot open file ", path));
  std::string text;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, got);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return absl::DataLossError(absl::StrCat("error while reading ", path));
  return text;
}

absl::StatusOr<CsvRows> ReadCsvFile(const std::string& path, const CsvOptions& options) {
  FEDSILO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseCsv(text, path, options);
}

}  // namespace fedsilo
