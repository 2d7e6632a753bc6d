// Tests of the IDX reader and the mnist loader: small IDX files written by the test (gzipped and
// plain), malformed files, and the real MNIST label counts from /work/shared/data/README.md.
#include <zlib.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/data/loader_registry.h"
#include "common/data/mnist_loader.h"

namespace fedsilo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

void PutBigEndian(std::vector<uint8_t>* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

std::vector<uint8_t> ImagesFile(uint32_t count, uint32_t rows, uint32_t cols,
                                const std::vector<uint8_t>& pixels, uint32_t magic = 2051) {
  std::vector<uint8_t> out;
  PutBigEndian(&out, magic);
  PutBigEndian(&out, count);
  PutBigEndian(&out, rows);
  PutBigEndian(&out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

std::vector<uint8_t> LabelsFile(const std::vector<uint8_t>& labels, uint32_t magic = 2049) {
  std::vector<uint8_t> out;
  PutBigEndian(&out, magic);
  PutBigEndian(&out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

class MnistFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fedsilo_mnist_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "mnist");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WritePlain(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = (dir_ / "mnist" / name).string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  std::string WriteGzip(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = (dir_ / "mnist" / (name + ".gz")).string();
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(file);
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(MnistFilesTest, ReadsPlainAndGzippedIdx) {
  const std::vector<uint8_t> pixels = {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8};  // 2 of 2x3
  const std::string plain = WritePlain("images", ImagesFile(2, 2, 3, pixels));
  const std::string gz = WriteGzip("images", ImagesFile(2, 2, 3, pixels));
  for (const std::string& path : {plain, gz}) {
    auto images = ReadIdxImages(path);
    ASSERT_TRUE(images.ok()) << images.status();
    EXPECT_EQ(images->count, 2);
    EXPECT_EQ(images->rows, 2);
    EXPECT_EQ(images->cols, 3);
    EXPECT_EQ(images->pixels, pixels);
  }
  auto labels = ReadIdxLabels(WriteGzip("labels", LabelsFile({7, 0, 9})));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(7, 0, 9));
}

TEST_F(MnistFilesTest, WrongMagicTruncatedAndOverlongFiles) {
  auto swapped = ReadIdxImages(WritePlain("labels_as_images", LabelsFile({1, 2})));
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(swapped.status().message(), HasSubstr("magic number 2049, expected 2051"));
  EXPECT_THAT(swapped.status().message(), HasSubstr("labels_as_images"));

  std::vector<uint8_t> truncated = ImagesFile(3, 2, 2, std::vector<uint8_t>(12, 9));
  truncated.resize(truncated.size() - 5);
  auto short_file = ReadIdxImages(WriteGzip("short", truncated));
  ASSERT_FALSE(short_file.ok());
  EXPECT_EQ(short_file.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(short_file.status().message(), HasSubstr("truncated"));
  EXPECT_THAT(short_file.status().message(), HasSubstr("needs 12 bytes, only 7 present"));

  auto short_header = ReadIdxLabels(WritePlain("tiny", {0, 0, 8}));
  EXPECT_THAT(short_header.status().message(), HasSubstr("truncated"));

  std::vector<uint8_t> overlong = LabelsFile({1, 2});
  overlong.push_back(3);
  EXPECT_THAT(ReadIdxLabels(WritePlain("long", overlong)).status().message(),
              HasSubstr("longer than its IDX header"));

  EXPECT_EQ(ReadIdxLabels((dir_ / "absent").string()).status().code(),
            absl::StatusCode::kNotFound);
}

// Found by tests/fuzz/idx_fuzzer: a 39-byte file whose header claims 34078720 images of 5x28
// (4771020800 bytes) made the reader allocate all of it before reading. The same bytes now give a
// truncated-file DataLoss with the claimed and the present sizes, without that allocation.
TEST_F(MnistFilesTest, HeaderClaimingGigabytesIsATruncatedFileNotAnAllocation) {
  const std::string reproducer = std::string(FEDSILO_SOURCE_DIR) +
                                 "/tests/fuzz/regressions/idx_fuzzer/oom_images_header_claims_4_7_gb";
  ASSERT_EQ(std::filesystem::file_size(reproducer), 39u);
  // Address space for this read: what the process has plus 1 GiB, so a reader that allocated
  // what the header claims would fail here (bad_alloc) instead of passing on an idle machine.
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &before), 0);
  std::ifstream status("/proc/self/status");
  std::string line;
  unsigned long long vm_kb = 0;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) vm_kb = std::stoull(line.substr(7));
  }
  ASSERT_GT(vm_kb, 0u);
  rlimit capped = before;
  capped.rlim_cur = std::min<rlim_t>(before.rlim_cur, vm_kb * 1024 + (rlim_t{1} << 30));
  ASSERT_EQ(setrlimit(RLIMIT_AS, &capped), 0);
  auto images = ReadIdxImages(reproducer);
  ASSERT_EQ(setrlimit(RLIMIT_AS, &before), 0);
  ASSERT_FALSE(images.ok());
  // 0x02080000 images x 5 rows x 28 columns claimed; 39 - 16 header bytes present. A machine with
  // less memory than the claim's bytes and doubles (9 x 4771020800 bytes) refuses before reading;
  // a larger one reads what the file holds and finds it truncated.
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  if (9.0 * 4771020800.0 > memory) {
    EXPECT_EQ(images.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(images.status().message(),
                HasSubstr("34078720 images of 5x28 need 40950 MiB as bytes and doubles"));
  } else {
    EXPECT_EQ(images.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(images.status().message(),
                HasSubstr("34078720 images of 5x28 needs 4771020800 bytes, only 23 present"));
  }

  // The label reader's largest plausible count (2^28) from an 8-byte file: same answer.
  std::vector<uint8_t> labels;
  PutBigEndian(&labels, 2049);
  PutBigEndian(&labels, 1u << 28);
  auto claimed = ReadIdxLabels(WritePlain("labels_claim", labels));
  ASSERT_FALSE(claimed.ok());
  EXPECT_EQ(claimed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(claimed.status().message(),
              HasSubstr("268435456 labels needs 268435456 bytes, only 0 present"));
}

TEST_F(MnistFilesTest, LoaderScalesPixelsAndChecksCounts) {
  const std::vector<uint8_t> train_pixels = {0, 255, 51, 102, 10, 20, 30, 40};  // 2 of 2x2
  WriteGzip("train-images-idx3-ubyte", ImagesFile(2, 2, 2, train_pixels));
  WriteGzip("train-labels-idx1-ubyte", LabelsFile({3, 8}));
  WritePlain("t10k-images-idx3-ubyte", ImagesFile(1, 2, 2, {255, 0, 0, 255}));
  WritePlain("t10k-labels-idx1-ubyte", LabelsFile({1}));
  DataConfig config;
  config.dataset = "mnist";
  config.dir = dir_.string();
  auto data = LoadData(config);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->name, "mnist");
  ASSERT_EQ(data->train.size(), 2);
  ASSERT_EQ(data->train.dim(), 4);
  EXPECT_THAT(data->train.feature_names, ElementsAre("px0", "px1", "px2", "px3"));
  EXPECT_EQ(data->train.num_classes, 10);
  EXPECT_THAT(data->train.y, ElementsAre(3, 8));
  EXPECT_THAT(data->test.y, ElementsAre(1));
  EXPECT_DOUBLE_EQ(data->train.x(0, 1), 1.0);
  EXPECT_DOUBLE_EQ(data->train.x(0, 2), 0.2);
  EXPECT_DOUBLE_EQ(data->train.x(1, 3), 40.0 / 255.0);
  EXPECT_DOUBLE_EQ(data->test.x(0, 0), 1.0);

  // Label count disagreeing with the image count.
  WritePlain("t10k-labels-idx1-ubyte", LabelsFile({1, 2}));
  auto mismatch = LoadData(config);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(mismatch.status().message(), HasSubstr("holds 1 images but"));

  // A label that is not a digit.
  WritePlain("t10k-labels-idx1-ubyte", LabelsFile({12}));
  EXPECT_THAT(LoadData(config).status().message(), HasSubstr("label 12"));

  config.sensitive = "sex";
  EXPECT_EQ(LoadData(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MnistFilesTest, MissingFilesAreNotFound) {
  DataConfig config;
  config.dataset = "mnist";
  config.dir = (dir_ / "elsewhere").string();
  auto data = LoadData(config);
  if (data.ok()) GTEST_SKIP() << "bundled MNIST present (fallback used)";
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr("elsewhere/mnist"));
  EXPECT_THAT(data.status().message(), HasSubstr("fetch_mnist.sh"));
}

TEST(MnistRealTest, TrainLabelCountsMatchReadme) {
  const std::string dir = FEDSILO_SOURCE_DIR "/../shared/data";
  if (!std::filesystem::is_directory(dir + "/mnist")) {
    GTEST_SKIP() << "shared MNIST not found at " << dir << "/mnist";
  }
  DataConfig config;
  config.dataset = "mnist";
  config.dir = dir;
  const auto start = std::chrono::steady_clock::now();
  auto data = LoadData(config);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_LT(seconds, 5.0);  // budget: a couple of seconds at most in Release
  EXPECT_EQ(data->train.size(), 60000);
  EXPECT_EQ(data->test.size(), 10000);
  EXPECT_EQ(data->train.dim(), 784);
  std::vector<int> counts(10, 0);
  for (int y : data->train.y) counts[static_cast<size_t>(y)]++;
  EXPECT_THAT(counts,
              ElementsAre(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949));
  EXPECT_GE(data->train.x.minCoeff(), 0.0);
  EXPECT_DOUBLE_EQ(data->train.x.maxCoeff(), 1.0);
}

// A header within the plausible bounds (2^22 images of 64x64 = 2^34 pixels) that a gzip bomb
// could really fill: refused before reading, naming the memory it would need (16 GiB of bytes and
// 128 GiB of doubles) and the machine's.
TEST_F(MnistFilesTest, AClaimBeyondThisMachinesMemoryIsRefusedBeforeReading) {
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  if (static_cast<double>(pages) * page_size > 150e9) GTEST_SKIP() << "a machine of over 150 GB";
  std::vector<uint8_t> header;
  PutBigEndian(&header, 2051);
  PutBigEndian(&header, 1u << 22);
  PutBigEndian(&header, 64);
  PutBigEndian(&header, 64);
  auto images = ReadIdxImages(WriteGzip("claims_144_gib", header));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(images.status().message(),
              HasSubstr("4194304 images of 64x64 need 147456 MiB as bytes and doubles"));
}

}  // namespace
}  // namespace fedsilo
