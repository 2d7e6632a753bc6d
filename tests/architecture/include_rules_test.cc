// Enforces the dependency rules of DESIGN.md by scanning #include lines of the source tree, and
// checks that no generated protobuf code is committed (system headers are visible to every CMake
// target, so the build alone cannot enforce these rules).
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = FEDSILO_SOURCE_DIR;

struct Include {
  fs::path file;
  int line;
  std::string target;
};

std::vector<Include> IncludesUnder(const std::string& folder) {
  std::vector<Include> includes;
  const std::regex pattern(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  if (!fs::exists(kRoot / folder)) return includes;
  for (const auto& entry : fs::recursive_directory_iterator(kRoot / folder)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".h" && ext != ".cc" && ext != ".cpp") continue;
    std::ifstream in(entry.path());
    std::string text;
    int line_number = 0;
    while (std::getline(in, text)) {
      ++line_number;
      std::smatch match;
      if (std::regex_search(text, match, pattern)) {
        includes.push_back({fs::relative(entry.path(), kRoot), line_number, match[1]});
      }
    }
  }
  return includes;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Every include under `folder` whose target starts with one of `forbidden` is a violation.
std::vector<std::string> Violations(const std::string& folder,
                                    const std::vector<std::string>& forbidden) {
  std::vector<std::string> found;
  for (const Include& include : IncludesUnder(folder)) {
    for (const std::string& prefix : forbidden) {
      if (StartsWith(include.target, prefix) ||
          include.target.find(".pb.h") != std::string::npos) {
        found.push_back(include.file.string() + ":" + std::to_string(include.line) + " includes " +
                        include.target);
        break;
      }
    }
  }
  return found;
}

TEST(IncludeRulesTest, ScannerSeesTheTree) {
  // Guards against a scan that silently reads nothing (and so cannot fail).
  EXPECT_GT(IncludesUnder("common").size(), 20u);
}

TEST(IncludeRulesTest, CommonHasNoGrpcOrProtobuf) {
  const auto found = Violations("common", {"grpc", "grpcpp/", "google/protobuf/", "proto/",
                                           "fedsilo/v1/", "server/", "silo/", "simulations/",
                                           "tests/"});
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
}

TEST(IncludeRulesTest, AlgorithmsDoNotKnowTransportOrRuntime) {
  const auto found = Violations("common/algorithms", {"common/transport/", "common/runtime/"});
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
}

TEST(IncludeRulesTest, DpKnowsNoModelsDataOrAlgorithms) {
  const auto found = Violations("common/dp", {"common/model/", "common/data/",
                                              "common/algorithms/", "common/runtime/",
                                              "common/transport/"});
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
}

TEST(IncludeRulesTest, ServerAndSiloNeverIncludeEachOther) {
  auto found = Violations("server", {"silo/"});
  auto more = Violations("silo", {"server/"});
  found.insert(found.end(), more.begin(), more.end());
  // .pb.h includes are allowed at the edge: filter those out.
  std::erase_if(found, [](const std::string& v) { return v.find(".pb.h") != std::string::npos; });
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
}

TEST(IncludeRulesTest, NothingIncludesSimulationsOrTests) {
  for (const char* folder : {"common", "server", "silo", "proto"}) {
    auto found = Violations(folder, {"simulations/", "tests/"});
    std::erase_if(found, [](const std::string& v) { return v.find(".pb.h") != std::string::npos; });
    EXPECT_TRUE(found.empty()) << folder << ": " << ::testing::PrintToString(found);
  }
}

TEST(IncludeRulesTest, NoGeneratedProtobufFilesAreCommitted) {
  const std::string command = "git -C '" + kRoot.string() + "' ls-files";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  ASSERT_NE(pipe, nullptr);
  std::string listing;
  std::array<char, 4096> buffer;
  while (fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) listing += buffer.data();
  if (listing.empty()) GTEST_SKIP() << "not a git checkout";
  EXPECT_EQ(listing.find(".pb.h"), std::string::npos) << listing;
  EXPECT_EQ(listing.find(".pb.cc"), std::string::npos) << listing;
}

}  // namespace
