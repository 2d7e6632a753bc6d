#include "common/data/mnist_loader.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include "common/base/huge_pages.h"

namespace fedsilo {
namespace {

constexpr uint32_t kImagesMagic = 2051;
constexpr uint32_t kLabelsMagic = 2049;
constexpr int kNumClasses = 10;

// Owns a zlib file handle (reads gzip or plain files alike).
class GzReader {
 public:
  explicit GzReader(std::string path) : path_(std::move(path)) {}
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  absl::Status Open() {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec)) {
      return absl::NotFoundError(absl::StrCat("cannot open file ", path_));
    }
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) return absl::NotFoundError(absl::StrCat("cannot open file ", path_));
    gzbuffer(file_, 1 << 18);
    return absl::OkStatus();
  }

  // Reads up to n bytes; returns how many were read (fewer only at end of file).
  absl::StatusOr<size_t> Read(uint8_t* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* message = gzerror(file_, &code);
        return absl::DataLossError(absl::StrCat(path_, ": read error: ", message));
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  // Reads exactly n bytes of `what`, or reports truncation.
  absl::Status ReadExactly(uint8_t* out, size_t n, const std::string& what) {
    FEDSILO_ASSIGN_OR_RETURN(size_t got, Read(out, n));
    if (got != n) {
      return absl::DataLossError(absl::StrCat(path_, ": truncated file: ", what, " needs ", n,
                                              " bytes, only ", got, " present"));
    }
    return absl::OkStatus();
  }

  // Reads exactly n bytes of `what` into *out, growing it only as the bytes arrive: a header can
  // claim far more than the file holds, and memory must follow the file, not the claim.
  absl::Status ReadExactlyInto(std::vector<uint8_t>* out, size_t n, const std::string& what) {
    constexpr size_t kChunk = size_t{1} << 24;
    out->clear();
    while (out->size() < n) {
      const size_t before = out->size();
      const size_t want = std::min(kChunk, n - before);
      out->resize(before + want);
      FEDSILO_ASSIGN_OR_RETURN(size_t got, Read(out->data() + before, want));
      out->resize(before + got);
      if (got < want) {
        return absl::DataLossError(absl::StrCat(path_, ": truncated file: ", what, " needs ", n,
                                                " bytes, only ", out->size(), " present"));
      }
    }
    return absl::OkStatus();
  }

  // DataLoss if anything follows the payload.
  absl::Status ExpectEnd() {
    uint8_t extra = 0;
    FEDSILO_ASSIGN_OR_RETURN(size_t got, Read(&extra, 1));
    if (got != 0) {
      return absl::DataLossError(
          absl::StrCat(path_, ": the file is longer than its IDX header says (wrong file?)"));
    }
    return absl::OkStatus();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

absl::Status CheckMagic(const std::string& path, uint32_t magic, uint32_t expected) {
  if (magic == expected) return absl::OkStatus();
  const char* kind = expected == kImagesMagic ? "image" : "label";
  std::string hint;
  if (magic == kImagesMagic) hint = " (this is an IDX image file)";
  if (magic == kLabelsMagic) hint = " (this is an IDX label file)";
  return absl::DataLossError(absl::StrCat(path, ": not an IDX ", kind, " file: magic number ",
                                          magic, ", expected ", expected, hint));
}

// First of <dir>/<name>, <dir>/<name>.gz that exists, or "".
std::string FindVariant(const std::filesystem::path& dir, const std::string& name) {
  std::error_code ec;
  for (const std::string& candidate : {name, name + ".gz"}) {
    const std::filesystem::path path = dir / candidate;
    if (std::filesystem::is_regular_file(path, ec)) return path.string();
  }
  return "";
}

absl::StatusOr<Dataset> ToDataset(const IdxImages& images, const std::vector<uint8_t>& labels,
                                  const std::string& images_path,
                                  const std::string& labels_path) {
  if (static_cast<size_t>(images.count) != labels.size()) {
    return absl::DataLossError(absl::StrCat(images_path, " holds ", images.count, " images but ",
                                            labels_path, " holds ", labels.size(), " labels"));
  }
  const size_t dim = static_cast<size_t>(images.rows) * static_cast<size_t>(images.cols);
  Dataset ds;
  ds.x.resize(images.count, static_cast<Eigen::Index>(dim));
  AdviseHugePages(ds.x.data(), static_cast<size_t>(ds.x.size()) * sizeof(double));
  std::array<double, 256> scale;
  for (int v = 0; v < 256; ++v) scale[static_cast<size_t>(v)] = v / 255.0;
  double* out = ds.x.data();  // row-major: image after image, like the file
  for (size_t i = 0; i < images.pixels.size(); ++i) out[i] = scale[images.pixels[i]];
  ds.y.resize(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= kNumClasses) {
      return absl::InvalidArgumentError(absl::StrCat(labels_path, ": label ", int{labels[i]},
                                                     " of item ", i, " is not a digit 0-9"));
    }
    ds.y[i] = labels[i];
  }
  ds.num_classes = kNumClasses;
  for (int c = 0; c < kNumClasses; ++c) ds.class_names.push_back(absl::StrCat(c));
  ds.feature_names.reserve(dim);
  for (size_t j = 0; j < dim; ++j) ds.feature_names.push_back(absl::StrCat("px", j));
  return ds;
}

}  // namespace

absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path) {
  GzReader reader(path);
  FEDSILO_RETURN_IF_ERROR(reader.Open());
  uint8_t header[16];
  FEDSILO_RETURN_IF_ERROR(reader.ReadExactly(header, 4, "the IDX magic number"));
  FEDSILO_RETURN_IF_ERROR(CheckMagic(path, BigEndian32(header), kImagesMagic));
  FEDSILO_RETURN_IF_ERROR(reader.ReadExactly(header + 4, 12, "the IDX header"));
  const uint32_t count = BigEndian32(header + 4), rows = BigEndian32(header + 8),
                 cols = BigEndian32(header + 12);
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || count > (1u << 28) ||
      uint64_t{count} * rows * cols > (uint64_t{1} << 34)) {
    return absl::DataLossError(absl::StrCat(path, ": implausible IDX dimensions ", count, " x ",
                                            rows, " x ", cols));
  }
  // A compressed file can expand to all its header claims (deflate reaches ~1000:1: 16 MB of
  // gzip can hold the 2^34 pixels allowed above), and the pixels become doubles (ToDataset):
  // refuse, before reading, what this machine's memory cannot hold.
  const uint64_t needed = uint64_t{count} * rows * cols * (1 + sizeof(double));
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0 && needed > uint64_t(pages) * uint64_t(page_size)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        path, ": ", count, " images of ", rows, "x", cols, " need ", needed >> 20,
        " MiB as bytes and doubles, more than this machine's ",
        (uint64_t(pages) * uint64_t(page_size)) >> 20, " MiB of memory"));
  }
  IdxImages images;
  images.count = static_cast<int>(count);
  images.rows = static_cast<int>(rows);
  images.cols = static_cast<int>(cols);
  FEDSILO_RETURN_IF_ERROR(reader.ReadExactlyInto(&images.pixels,
                                                 static_cast<size_t>(count) * rows * cols,
                                                 absl::StrCat(count, " images of ", rows, "x", cols)));
  FEDSILO_RETURN_IF_ERROR(reader.ExpectEnd());
  return images;
}

absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path) {
  GzReader reader(path);
  FEDSILO_RETURN_IF_ERROR(reader.Open());
  uint8_t header[8];
  FEDSILO_RETURN_IF_ERROR(reader.ReadExactly(header, 4, "the IDX magic number"));
  FEDSILO_RETURN_IF_ERROR(CheckMagic(path, BigEndian32(header), kLabelsMagic));
  FEDSILO_RETURN_IF_ERROR(reader.ReadExactly(header + 4, 4, "the IDX header"));
  const uint32_t count = BigEndian32(header + 4);
  if (count > (1u << 28)) {
    return absl::DataLossError(absl::StrCat(path, ": implausible IDX label count ", count));
  }
  std::vector<uint8_t> labels;
  FEDSILO_RETURN_IF_ERROR(reader.ReadExactlyInto(&labels, count, absl::StrCat(count, " labels")));
  FEDSILO_RETURN_IF_ERROR(reader.ExpectEnd());
  return labels;
}

absl::StatusOr<TrainTest> LoadMnist(const DataConfig& config) {
  if (!config.sensitive.empty() && config.sensitive != "none") {
    return absl::InvalidArgumentError(absl::StrCat(
        "data.sensitive: unknown option '", config.sensitive, "' for dataset mnist; allowed: none"));
  }
  const std::vector<std::string> names = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  std::vector<std::filesystem::path> dirs;
  if (!config.dir.empty()) dirs.push_back(std::filesystem::path(config.dir) / "mnist");
#ifdef FEDSILO_BUNDLED_DATA_DIR
  dirs.push_back(std::filesystem::path(FEDSILO_BUNDLED_DATA_DIR) / "mnist");
#endif
  std::vector<std::string> paths;
  for (const auto& dir : dirs) {
    paths.clear();
    for (const std::string& name : names) {
      std::string path = FindVariant(dir, name);
      if (path.empty()) break;
      paths.push_back(std::move(path));
    }
    if (paths.size() == names.size()) break;
  }
  if (paths.size() != names.size()) {
    std::vector<std::string> searched;
    std::error_code ec;
    for (const auto& dir : dirs) searched.push_back(std::filesystem::absolute(dir, ec).string());
    return absl::NotFoundError(absl::StrCat(
        "mnist: the files ", absl::StrJoin(names, ", "), " (optionally .gz) were not found in ",
        absl::StrJoin(searched, " or "),
        "; set data.dir (or FEDSILO_DATA) to a directory with a mnist/ folder, or run "
        "scripts/fetch_mnist.sh"));
  }
  TrainTest data;
  data.name = "mnist";
  for (int split = 0; split < 2; ++split) {
    const std::string& images_path = paths[2 * split];
    const std::string& labels_path = paths[2 * split + 1];
    FEDSILO_ASSIGN_OR_RETURN(IdxImages images, ReadIdxImages(images_path));
    FEDSILO_ASSIGN_OR_RETURN(std::vector<uint8_t> labels, ReadIdxLabels(labels_path));
    FEDSILO_ASSIGN_OR_RETURN(Dataset ds, ToDataset(images, labels, images_path, labels_path));
    (split == 0 ? data.train : data.test) = std::move(ds);
  }
  if (data.train.dim() != data.test.dim()) {
    return absl::DataLossError(absl::StrCat("mnist: train images have ", data.train.dim(),
                                            " pixels but test images ", data.test.dim()));
  }
  return data;
}

}  // namespace fedsilo
