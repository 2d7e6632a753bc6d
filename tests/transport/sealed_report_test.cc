#include "common/transport/sealed_report.h"

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>
#include <sodium.h>

#include "common/transport/report_payload.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <type_traits>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

ReportPayload Sample() {
  ReportPayload payload;
  payload.round = 7;
  payload.weight = 1.0;
  payload.values.resize(3);
  payload.values << 0.125, -2.5, 1e-300;
  return payload;
}

TEST(ReportPayloadTest, EncodingIsTheDocumentedLittleEndianLayout) {
  // Independent value: the layout written out by hand from the header's description.
  ReportPayload payload;
  payload.round = 258;  // 0x00000102
  payload.weight = 1.0;  // 0x3FF0000000000000
  payload.values.resize(1);
  payload.values << -2.0;  // 0xC000000000000000
  const std::vector<uint8_t> expected = {
      'F', 'S', 'R', '1', 0x02, 0x01, 0, 0,           // magic, round
      0, 0, 0, 0, 0, 0, 0xF0, 0x3F,                   // weight
      1, 0, 0, 0, 0, 0, 0, 0,                         // count
      0, 0, 0, 0, 0, 0, 0, 0xC0};                     // values
  EXPECT_EQ(SerializeReportPayload(payload), expected);
}

TEST(ReportPayloadTest, RoundTripIsExact) {
  const ReportPayload payload = Sample();
  auto parsed = ParseReportPayload(SerializeReportPayload(payload));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->round, 7);
  EXPECT_EQ(parsed->weight, 1.0);
  ASSERT_EQ(parsed->values.size(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(parsed->values[i], payload.values[i]);
}

TEST(ReportPayloadTest, MalformedBytesAreRefusedWithTheReason) {
  std::vector<uint8_t> bytes = SerializeReportPayload(Sample());
  auto truncated = ParseReportPayload(std::span(bytes).first(bytes.size() - 1));
  EXPECT_TRUE(absl::IsInvalidArgument(truncated.status()));
  EXPECT_NE(truncated.status().message().find("declares 3 values"), std::string::npos)
      << truncated.status();
  auto tiny = ParseReportPayload(std::span(bytes).first(5));
  EXPECT_NE(tiny.status().message().find("shorter than its 24-byte header"), std::string::npos);
  bytes[0] = 'X';
  EXPECT_NE(ParseReportPayload(bytes).status().message().find("FSR1"), std::string::npos);
}

TEST(SealedReportTest, CoordinatorOpensWhatASiloSealed) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto sealed = SealReport(Sample(), keys->public_key());
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->size(), SerializeReportPayload(Sample()).size() + crypto_box_SEALBYTES);
  auto opened = keys->Open(*sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->round, 7);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(opened->values[i], Sample().values[i]);
}

TEST(SealedReportTest, SealedBytesDoNotContainThePlaintext) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  const std::vector<uint8_t> plain = SerializeReportPayload(Sample());
  auto sealed = SealReport(Sample(), keys->public_key());
  ASSERT_TRUE(sealed.ok());
  // The 24 bytes holding the three values never appear in the ciphertext.
  const auto values = std::span(plain).subspan(24);
  EXPECT_EQ(std::search(sealed->begin(), sealed->end(), values.begin(), values.end()),
            sealed->end());
}

TEST(SealedReportTest, AnyoneWithoutTheSecretKeyCannotOpen) {
  // The shuffler holds the coordinator's public key and its own key pair; neither opens the box.
  auto coordinator = CoordinatorKeyPair::Generate();
  auto shuffler = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(coordinator.ok() && shuffler.ok());
  auto sealed = SealReport(Sample(), coordinator->public_key());
  ASSERT_TRUE(sealed.ok());
  auto wrong = shuffler->Open(*sealed);
  EXPECT_TRUE(absl::IsDataLoss(wrong.status())) << wrong.status();
  // Raw libsodium with the right public key but a guessed (zero) secret key fails too.
  std::vector<uint8_t> plain(sealed->size() - crypto_box_SEALBYTES);
  const std::array<uint8_t, crypto_box_SECRETKEYBYTES> zero{};
  EXPECT_NE(crypto_box_seal_open(plain.data(), sealed->data(), sealed->size(),
                                 coordinator->public_key().data(), zero.data()),
            0);
}

TEST(SealedReportTest, TamperedOrTruncatedCiphertextFailsWithAClearError) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  auto sealed = SealReport(Sample(), keys->public_key());
  ASSERT_TRUE(sealed.ok());
  for (size_t position : {size_t{0}, size_t{40}, sealed->size() - 1}) {
    std::vector<uint8_t> tampered = *sealed;
    tampered[position] ^= 0x01;
    auto opened = keys->Open(tampered);
    EXPECT_TRUE(absl::IsDataLoss(opened.status())) << position;
    EXPECT_NE(opened.status().message().find("failed authentication"), std::string::npos)
        << opened.status();
  }
  auto short_box = keys->Open(std::span(*sealed).first(10));
  EXPECT_TRUE(absl::IsDataLoss(short_box.status()));
  EXPECT_NE(short_box.status().message().find("shorter than a sealed box"), std::string::npos);
}

TEST(SealedReportTest, TwoSealsOfTheSamePayloadDiffer) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  auto first = SealReport(Sample(), keys->public_key());
  auto second = SealReport(Sample(), keys->public_key());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
  // Fresh ephemeral public keys: the first 32 bytes of a sealed box.
  EXPECT_FALSE(std::equal(first->begin(), first->begin() + 32, second->begin()));
  EXPECT_TRUE(keys->Open(*first).ok());
  EXPECT_TRUE(keys->Open(*second).ok());
}

TEST(SealedReportTest, MovedKeyPairStillOpens) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  auto sealed = SealReport(Sample(), keys->public_key());
  ASSERT_TRUE(sealed.ok());
  CoordinatorKeyPair moved = std::move(keys).value();
  EXPECT_TRUE(moved.Open(*sealed).ok());
}

// The coordinator's key file: created with mode 0600 on first use, its public half written to
// FILE.pub in the documented form (64 hex digits), and the same key pair read back later (a
// report sealed for the first run's public key opens after a restart).
TEST(SealingKeyFileTest, CreatedOnceThenLoadedWithItsPublicKeyBeside) {
  const std::filesystem::path dir = testing::FreshTempDir("sealing_key_file");
  const std::string path = (dir / "coordinator.key").string();
  auto created = CoordinatorKeyPair::LoadOrCreate(path);
  ASSERT_TRUE(created.ok()) << created.status();
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  const std::string pub_text = testing::ReadFile(path + ".pub");
  EXPECT_TRUE(std::regex_match(pub_text, std::regex("[0-9a-f]{64}\n"))) << pub_text;
  // Independent value: the hex of the key bytes, written out here.
  std::string hex;
  for (uint8_t b : created->public_key()) {
    char two[3];
    std::snprintf(two, sizeof(two), "%02x", b);
    hex += two;
  }
  EXPECT_EQ(pub_text, hex + "\n");
  auto pinned = ReadReportPublicKey(path + ".pub");
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ(*pinned, created->public_key());

  auto sealed = SealReport(Sample(), *pinned);
  ASSERT_TRUE(sealed.ok());
  auto loaded = CoordinatorKeyPair::LoadOrCreate(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->public_key(), created->public_key());
  auto opened = loaded->Open(*sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->values, Sample().values);
}

// A fresh checkout's compose run names a key file in a folder nobody made yet (issue 17): the
// folders are made; a folder that cannot be made is named with the reason.
TEST(SealingKeyFileTest, MissingFoldersAreMadeAndAnUnmakeableOneIsNamed) {
  const std::filesystem::path dir = testing::FreshTempDir("sealing_key_folders");
  const std::string path = (dir / "run" / "keys" / "coordinator.key").string();
  auto created = CoordinatorKeyPair::LoadOrCreate(path);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
  EXPECT_TRUE(std::filesystem::is_regular_file(path + ".pub"));

  testing::WriteFile(dir / "a_file", "x");  // a file where a folder should be
  const std::string blocked = (dir / "a_file" / "coordinator.key").string();
  auto refused = CoordinatorKeyPair::LoadOrCreate(blocked);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("cannot create the folder " + (dir / "a_file").string()),
            std::string::npos)
      << refused.status();
}

TEST(SealingKeyFileTest, DamagedFilesAreRefusedNamingThem) {
  const std::filesystem::path dir = testing::FreshTempDir("sealing_key_damaged");
  const std::string key = (dir / "bad.key").string();
  testing::WriteFile(key, "not a key\n");
  auto loaded = CoordinatorKeyPair::LoadOrCreate(key);
  EXPECT_TRUE(absl::IsDataLoss(loaded.status())) << loaded.status();
  EXPECT_NE(loaded.status().message().find(key), std::string::npos);
  const std::string pub = (dir / "bad.pub").string();
  std::string short_key(64, 'a');
  short_key.back() = '\n';  // 63 characters and a newline
  testing::WriteFile(pub, short_key);
  auto read = ReadReportPublicKey(pub);
  EXPECT_TRUE(absl::IsInvalidArgument(read.status())) << read.status();
  EXPECT_NE(read.status().message().find(pub), std::string::npos);
  EXPECT_TRUE(absl::IsNotFound(ReadReportPublicKey((dir / "none.pub").string()).status()));
}

// The shuffler cannot open a report, by construction:
//  - a key pair (the only thing that opens a report) cannot be built from a public key, copied, or
//    default-constructed: it comes only from Generate() or the coordinator's own key file;
//  - the shuffler's code (server/shuffler_process.*) names no key pair and no key file at all: it
//    handles sealed reports as opaque bytes;
//  - a key pair the shuffler could make for itself does not open a report sealed for the
//    coordinator.
static_assert(!std::is_constructible_v<CoordinatorKeyPair, ReportPublicKey>);
static_assert(!std::is_default_constructible_v<CoordinatorKeyPair>);
static_assert(!std::is_copy_constructible_v<CoordinatorKeyPair>);

TEST(ShufflerHoldsNoKeyTest, ItsCodeNamesNoKeyPairAndItsOwnKeysOpenNothing) {
  for (const char* file : {"server/shuffler_process.h", "server/shuffler_process.cc"}) {
    const std::string text = testing::ReadFile(std::filesystem::path(FEDSILO_SOURCE_DIR) / file);
    ASSERT_FALSE(text.empty()) << file;
    for (const char* word : {"CoordinatorKeyPair", "sealed_report.h", "LoadOrCreate", "Open("}) {
      EXPECT_EQ(text.find(word), std::string::npos) << file << " mentions " << word;
    }
  }
  auto coordinator = CoordinatorKeyPair::Generate();
  auto shufflers_own = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(coordinator.ok() && shufflers_own.ok());
  auto sealed = SealReport(Sample(), coordinator->public_key());
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(absl::IsDataLoss(shufflers_own->Open(*sealed).status()));
  EXPECT_TRUE(coordinator->Open(*sealed).ok());
}

}  // namespace
}  // namespace fedsilo
