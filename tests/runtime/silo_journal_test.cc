// A silo's memory across restarts (journal file, never answering a round twice) and the
// coordinator's checkpoint file.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <optional>

#include <gtest/gtest.h>

#include "common/algorithms/fedavg.h"
#include "common/base/binary_record.h"
#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"
#include "common/runtime/checkpoint.h"
#include "common/runtime/silo_journal_file.h"
#include "common/runtime/silo_privacy.h"
#include "common/runtime/silo_runtime.h"
#include "common/transport/sealed_report.h"
#include "tests/algorithms/test_models.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using testing::LineDataset;
using testing::QuadraticModel;
namespace fs = std::filesystem;

constexpr int kRecords = 200;
constexpr int kLocalSteps = 3;

struct PrivateSilo {
  PrivateSilo() : data(LineDataset(kRecords, 2)), model(2) {}

  std::unique_ptr<SiloRuntime> Make(bool keep_last_answer = true,
                                    std::optional<ReportPublicKey> seal_for = {}) const {
    PrivacyConfig privacy;
    privacy.epsilon = 1.0;
    privacy.delta = 1e-5;
    AlgorithmConfig algorithm;
    algorithm.rounds = 20;
    algorithm.batch_size = 20;
    algorithm.local_steps = kLocalSteps;
    SiloRuntimeOptions options;
    options.silo_id = 0;
    options.model = &model;
    options.data = &data;
    for (int r = 0; r < kRecords; ++r) options.train_rows.push_back(r);
    options.program = std::make_shared<LocalSgdSiloProgram>(kLocalSteps, 0.1);
    options.privacy = *PlanSiloPrivacy(privacy, algorithm, true, kLocalSteps, kRecords);
    options.private_seed = 1234;
    options.weight = kRecords;
    options.keep_last_answer = keep_last_answer;
    options.seal_for = seal_for;
    return std::make_unique<SiloRuntime>(std::move(options));
  }

  Dataset data;
  QuadraticModel model;
};

SiloTask Task(int round, double value) {
  return SiloTask{round, 0, std::make_shared<const Vector>(Vector::Constant(2, value))};
}

TEST(SiloNeverTwiceTest, SameRoundSameParametersResendsTheAnswerWithoutNewNoise) {
  PrivateSilo setup;
  auto silo = setup.Make();
  auto first = silo->Handle(Task(1, 0.5));
  ASSERT_TRUE(first.ok()) << first.status();
  const int64_t queries = silo->ledger().num_queries();
  EXPECT_EQ(queries, kLocalSteps);
  auto again = silo->Handle(Task(1, 0.5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->delta, first->delta);
  EXPECT_EQ(silo->ledger().num_queries(), queries);  // nothing new was revealed or spent
}

TEST(SiloNeverTwiceTest, SameRoundOtherParametersOrAnOlderRoundIsRefused) {
  PrivateSilo setup;
  auto silo = setup.Make();
  ASSERT_TRUE(silo->Handle(Task(1, 0.5)).ok());
  ASSERT_TRUE(silo->Handle(Task(2, 0.25)).ok());
  const int64_t queries = silo->ledger().num_queries();
  auto other = silo->Handle(Task(2, 0.75));
  EXPECT_TRUE(absl::IsFailedPrecondition(other.status())) << other.status();
  EXPECT_NE(other.status().message().find("never answers a round twice"), absl::string_view::npos);
  EXPECT_TRUE(absl::IsFailedPrecondition(silo->Handle(Task(1, 0.5)).status()));
  EXPECT_EQ(silo->ledger().num_queries(), queries);
  // Without a kept answer (thread mode) even the same question is refused.
  auto lean = setup.Make(/*keep_last_answer=*/false);
  ASSERT_TRUE(lean->Handle(Task(1, 0.5)).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(lean->Handle(Task(1, 0.5)).status()));
}

TEST(SiloJournalTest, ARestartedSiloRemembersItsSpendingAndItsLastAnswer) {
  PrivateSilo setup;
  auto silo = setup.Make();
  for (int round = 1; round <= 4; ++round) ASSERT_TRUE(silo->Handle(Task(round, 0.1 * round)).ok());
  auto last = silo->Handle(Task(5, 0.5));
  ASSERT_TRUE(last.ok());
  const fs::path dir = testing::FreshTempDir("silo_journal");
  const std::string path = (dir / "silo.journal").string();
  SiloJournal written = silo->Journal();
  written.run_id = "0123456789abcdef0123456789abcdef";
  ASSERT_TRUE(WriteSiloJournal(path, written).ok());

  auto restarted = setup.Make();
  auto journal = ReadSiloJournal(path);
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_EQ(journal->run_id, written.run_id);
  ASSERT_TRUE(restarted->Restore(*journal).ok());
  EXPECT_EQ(restarted->ledger().num_queries(), 5 * kLocalSteps);
  // Its spent epsilon is the accountant's value for 15 queries of its plan, computed afresh.
  const SiloPrivacyPlan& plan = restarted->privacy();
  const std::vector<double> orders = DefaultRdpOrders();
  std::vector<double> fifteen = *ComputeRdp(plan.query_event, orders);  // one query
  for (double& rdp : fifteen) rdp *= 5 * kLocalSteps;
  auto expected = EpsilonFromRdp(orders, fifteen, plan.delta);
  ASSERT_TRUE(expected.ok());
  EXPECT_NEAR(restarted->spent_epsilon(), expected->epsilon, 1e-9 * expected->epsilon);
  EXPECT_EQ(restarted->spent_epsilon(), silo->spent_epsilon());
  // It re-sends round 5's answer, refuses round 4, and serves round 6 with fresh noise.
  auto resent = restarted->Handle(Task(5, 0.5));
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(resent->delta, last->delta);
  EXPECT_TRUE(absl::IsFailedPrecondition(restarted->Handle(Task(4, 0.4)).status()));
  auto next = restarted->Handle(Task(6, 0.6));
  ASSERT_TRUE(next.ok());
  auto uninterrupted = silo->Handle(Task(6, 0.6));
  ASSERT_TRUE(uninterrupted.ok());
  EXPECT_EQ(next->delta, uninterrupted->delta);  // same private streams, same answer
  EXPECT_EQ(restarted->ledger().num_queries(), 6 * kLocalSteps);
}

TEST(SiloJournalTest, ADamagedJournalIsDataLossAndAMissingOneNotFound) {
  PrivateSilo setup;
  auto silo = setup.Make();
  ASSERT_TRUE(silo->Handle(Task(1, 0.5)).ok());
  const fs::path dir = testing::FreshTempDir("silo_journal_damaged");
  const std::string path = (dir / "silo.journal").string();
  ASSERT_TRUE(WriteSiloJournal(path, silo->Journal()).ok());
  std::string bytes = testing::ReadFile(path);
  bytes[bytes.size() / 2] ^= 0x01;
  testing::WriteFile(path, bytes);
  auto damaged = ReadSiloJournal(path);
  EXPECT_TRUE(absl::IsDataLoss(damaged.status())) << damaged.status();
  EXPECT_NE(damaged.status().message().find(path), absl::string_view::npos);
  testing::WriteFile(path, bytes.substr(0, bytes.size() - 3));
  EXPECT_TRUE(absl::IsDataLoss(ReadSiloJournal(path).status()));
  EXPECT_TRUE(absl::IsNotFound(ReadSiloJournal((dir / "none").string()).status()));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

// Shuffle mode: the journal keeps the sealed bytes of the last answer, so a silo killed after
// answering and restarted re-sends exactly the report it sent (same ciphertext: no new noise, no
// new seal), and only the coordinator's key opens it, to the answer the silo computed.
TEST(SiloJournalTest, ASealedLastAnswerSurvivesARestartByteForByte) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok()) << keys.status();
  PrivateSilo setup;
  auto silo = setup.Make(true, keys->public_key());
  auto sent = silo->Handle(Task(1, 0.5));
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_EQ(sent->sealed.size(), 1u);
  EXPECT_EQ(sent->delta.size(), 0);
  const fs::path dir = testing::FreshTempDir("silo_journal_sealed");
  const std::string path = (dir / "silo.journal").string();
  ASSERT_TRUE(WriteSiloJournal(path, silo->Journal()).ok());

  auto journal = ReadSiloJournal(path);
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_EQ(journal->last_update.sealed, sent->sealed);
  auto restarted = setup.Make(true, keys->public_key());
  ASSERT_TRUE(restarted->Restore(*journal).ok());
  auto resent = restarted->Handle(Task(1, 0.5));
  ASSERT_TRUE(resent.ok()) << resent.status();
  EXPECT_EQ(resent->sealed, sent->sealed);
  EXPECT_EQ(restarted->ledger().num_queries(), kLocalSteps);  // nothing new spent
  EXPECT_TRUE(absl::IsFailedPrecondition(restarted->Handle(Task(1, 0.7)).status()));

  // Independent value: the same silo without sealing computes the delta the report holds.
  auto clear = setup.Make()->Handle(Task(1, 0.5));
  ASSERT_TRUE(clear.ok());
  auto opened = keys->Open(resent->sealed[0]);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->round, 1);
  EXPECT_EQ(opened->values, clear->delta);
}

// A journal of the current format keeps every sampler code, replace-one Poisson included, and
// refuses one it does not know.
TEST(SiloJournalTest, EventsRoundTripAndAnUnknownSamplerIsDataLoss) {
  const fs::path dir = testing::FreshTempDir("silo_journal_events");
  const std::string path = (dir / "silo.journal").string();
  SiloJournal journal;
  journal.ledger = {DpEvent{Subsampling::kNone, 1.0, 4.0, 1},
                    DpEvent{Subsampling::kPoissonReplaceOne, 0.05, 1.7, 30},
                    DpEvent{Subsampling::kWithoutReplacement, 0.1, 0.9, 2}};
  ASSERT_TRUE(WriteSiloJournal(path, journal).ok());
  auto read = ReadSiloJournal(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->ledger.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(read->ledger[i].subsampling, journal.ledger[i].subsampling) << i;
    EXPECT_EQ(read->ledger[i].sampling_rate, journal.ledger[i].sampling_rate) << i;
    EXPECT_EQ(read->ledger[i].noise_multiplier, journal.ledger[i].noise_multiplier) << i;
    EXPECT_EQ(read->ledger[i].count, journal.ledger[i].count) << i;
  }
  EXPECT_EQ(testing::ReadFile(path).substr(0, 11), "FEDSILOJRN6");
  // A well-formed file (valid checksum) with sampler code 5.
  journal.ledger = {DpEvent{static_cast<Subsampling>(5), 0.05, 1.7, 1}};
  ASSERT_TRUE(WriteSiloJournal(path, journal).ok());
  auto unknown = ReadSiloJournal(path);
  EXPECT_TRUE(absl::IsDataLoss(unknown.status())) << unknown.status();
}

// A format-3 journal, written before run ids and before silos accounted Poisson sampling as
// replace-one: it belongs to run "", its Poisson events (code 1) are read as kPoissonReplaceOne,
// what the silo's released size implies; code 4 did not exist then and is DataLoss.
std::string Version3Journal(int32_t sampler) {
  BinaryRecordWriter record("FEDSILOJRN3");
  record.Put<uint64_t>(1);  // one event
  record.Put<int32_t>(sampler);
  record.Put<double>(0.05);
  record.Put<double>(1.7);
  record.Put<int64_t>(12);
  record.Put<int32_t>(3);    // last round
  record.Put<uint64_t>(99);  // its digest
  record.Put<uint8_t>(0);    // no last update
  record.Put<int64_t>(0);    // shuffled rounds
  return record.Finish();
}

TEST(SiloJournalTest, AFormat3JournalIsRunEmptyAndItsPoissonEventsReplaceOne) {
  const fs::path dir = testing::FreshTempDir("silo_journal_v3");
  const std::string path = (dir / "silo.journal").string();
  testing::WriteFile(path, Version3Journal(1));
  auto read = ReadSiloJournal(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->ledger.size(), 1u);
  EXPECT_EQ(read->ledger[0].subsampling, Subsampling::kPoissonReplaceOne);
  EXPECT_EQ(read->ledger[0].sampling_rate, 0.05);
  EXPECT_EQ(read->ledger[0].noise_multiplier, 1.7);
  EXPECT_EQ(read->ledger[0].count, 12);
  EXPECT_EQ(read->last_round, 3);
  EXPECT_EQ(read->last_global_digest, 99u);
  EXPECT_EQ(read->run_id, "");
  testing::WriteFile(path, Version3Journal(2));
  ASSERT_TRUE(ReadSiloJournal(path).ok());
  EXPECT_EQ(ReadSiloJournal(path)->ledger[0].subsampling, Subsampling::kWithoutReplacement);
  testing::WriteFile(path, Version3Journal(4));
  EXPECT_TRUE(absl::IsDataLoss(ReadSiloJournal(path).status()));
}

// A format-5 journal of a secure-sum silo answered with a sealed share of the earlier protocol,
// which this version cannot re-send: its rounds are kept (the budget is never forgotten), its
// answer dropped.
TEST(SiloJournalTest, AFormat5SecureSumAnswerKeepsItsRoundsAndDropsTheAnswer) {
  BinaryRecordWriter record("FEDSILOJRN5");
  record.Put<uint64_t>(0);   // no ledger events
  record.Put<int32_t>(4);    // last round
  record.Put<uint64_t>(77);  // its digest
  record.Put<uint8_t>(1);    // a last update:
  record.Put<int32_t>(4);
  record.Put<int32_t>(2);
  record.Put<double>(1.0);
  record.PutVector(Vector());
  record.Put<uint64_t>(1);
  record.PutString("FSX1 an earlier session seal");
  record.Put<int64_t>(4);    // shuffled rounds
  record.PutString("run-a");
  record.Put<uint64_t>(1);   // one shuffler share, as an FSS1 payload
  record.PutString("FSS1 an earlier share payload");
  const fs::path dir = testing::FreshTempDir("silo_journal_v5");
  const std::string path = (dir / "silo.journal").string();
  testing::WriteFile(path, record.Finish());
  auto read = ReadSiloJournal(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shuffled_rounds, 4);
  EXPECT_EQ(read->last_round, 4);
  EXPECT_EQ(read->last_global_digest, 77u);
  EXPECT_EQ(read->run_id, "run-a");
  EXPECT_FALSE(read->has_last_update);
  EXPECT_TRUE(read->last_update.sealed.empty());
  EXPECT_TRUE(read->last_update.sum_shares.empty());
}

// The shuffler shares of a secure-sum answer round-trip field by field; a value beyond its
// modulus is DataLoss.
TEST(SiloJournalTest, SecureSumSharesRoundTripAndAValueBeyondTheModulusIsDataLoss) {
  const fs::path dir = testing::FreshTempDir("silo_journal_shares");
  const std::string path = (dir / "silo.journal").string();
  SiloJournal journal;
  journal.shuffled_rounds = 3;
  journal.last_round = 3;
  journal.has_last_update = true;
  journal.last_update.round = 3;
  journal.last_update.sealed = {SealedReport{'F', 'S', 'D', '1', 9}};
  journal.last_update.sum_shares = {SumShare{10, 2, 4.5, 300.0, 0, {0, 1023, 5}}};
  ASSERT_TRUE(WriteSiloJournal(path, journal).ok());
  auto read = ReadSiloJournal(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->last_update.sum_shares.size(), 1u);
  const SumShare& share = read->last_update.sum_shares[0];
  EXPECT_EQ(share.bits, 10);
  EXPECT_EQ(share.shares, 2);
  EXPECT_EQ(share.scale, 4.5);
  EXPECT_EQ(share.range, 300.0);
  EXPECT_EQ(share.silos, 0);
  EXPECT_EQ(share.values, (std::vector<uint64_t>{0, 1023, 5}));
  EXPECT_EQ(read->last_update.sealed, journal.last_update.sealed);
  journal.last_update.sum_shares[0].values[1] = 1024;  // not below 2^10
  ASSERT_TRUE(WriteSiloJournal(path, journal).ok());
  EXPECT_TRUE(absl::IsDataLoss(ReadSiloJournal(path).status()));
}

// A silo accounts replace-one events only: a ledger with an add/remove-one event is refused.
TEST(SiloJournalTest, ASiloRefusesToRestoreAnAddRemoveEvent) {
  PrivateSilo setup;
  auto silo = setup.Make();
  SiloJournal journal;
  journal.ledger = {DpEvent{Subsampling::kPoisson, 0.1, 1.0, 3}};
  EXPECT_TRUE(absl::IsFailedPrecondition(silo->Restore(journal)));
}

TEST(CheckpointTest, RoundTripsExactlyAndRejectsDamage) {
  Checkpoint checkpoint;
  checkpoint.round = 17;
  checkpoint.skipped_rounds = 2;
  checkpoint.eligible = {0, 2, 5};
  checkpoint.global = Vector::LinSpaced(7, -1.0, 1.0 / 3.0);
  checkpoint.global[3] = std::nextafter(0.1, 1.0);
  checkpoint.coordinator_state = Vector::LinSpaced(14, 1e-300, 2.5);
  checkpoint.average = Vector::LinSpaced(7, 2.0, -1.0 / 7.0);
  checkpoint.averaged_rounds = 9;
  checkpoint.config_yaml = "seed: 1\nalgorithm:\n  name: fedavg\n";
  const fs::path dir = testing::FreshTempDir("checkpoint");
  const std::string path = (dir / "checkpoint.bin").string();
  ASSERT_TRUE(WriteCheckpoint(path, checkpoint).ok());
  auto read = ReadCheckpoint(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->round, 17);
  EXPECT_EQ(read->skipped_rounds, 2);
  EXPECT_EQ(read->eligible, checkpoint.eligible);
  EXPECT_EQ(read->global, checkpoint.global);  // bit for bit
  EXPECT_EQ(read->coordinator_state, checkpoint.coordinator_state);
  EXPECT_EQ(read->average, checkpoint.average);
  EXPECT_EQ(read->averaged_rounds, 9);
  EXPECT_EQ(read->config_yaml, checkpoint.config_yaml);
  std::string bytes = testing::ReadFile(path);
  for (size_t at : {size_t{0}, size_t{20}, bytes.size() - 1}) {
    std::string damaged = bytes;
    damaged[at] ^= 0x40;
    testing::WriteFile(path, damaged);
    EXPECT_TRUE(absl::IsDataLoss(ReadCheckpoint(path).status())) << at;
  }
}

// A checkpoint written before coordinator state was saved (magic FEDSILOCKPT1, no state field)
// still resumes, with empty state; the layout here is that format's, field by field.
TEST(CheckpointTest, TheFormerFormatWithoutCoordinatorStateStillReads) {
  BinaryRecordWriter record("FEDSILOCKPT1");
  record.Put<int32_t>(5);   // round
  record.Put<int32_t>(1);   // skipped rounds
  record.Put<uint64_t>(2);  // eligible silos
  record.Put<int32_t>(0);
  record.Put<int32_t>(3);
  record.PutVector(Vector::Constant(4, 0.25));
  record.PutString("seed: 2\n");
  const fs::path dir = testing::FreshTempDir("checkpoint_v1");
  const std::string path = (dir / "checkpoint.bin").string();
  testing::WriteFile(path, record.Finish());
  auto read = ReadCheckpoint(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->round, 5);
  EXPECT_EQ(read->eligible, (std::vector<int>{0, 3}));
  EXPECT_EQ(read->global, Vector::Constant(4, 0.25));
  EXPECT_EQ(read->coordinator_state.size(), 0);
  EXPECT_EQ(read->config_yaml, "seed: 2\n");
}

// A checkpoint written before the iterate average was saved (magic FEDSILOCKPT2) resumes with
// nothing averaged; the layout here is that format's, field by field.
TEST(CheckpointTest, TheFormerFormatWithoutAnIterateAverageStillReads) {
  BinaryRecordWriter record("FEDSILOCKPT2");
  record.Put<int32_t>(6);   // round
  record.Put<int32_t>(0);   // skipped rounds
  record.Put<uint64_t>(1);  // eligible silos
  record.Put<int32_t>(2);
  record.PutVector(Vector::Constant(3, 0.5));
  record.PutVector(Vector::Constant(6, 0.125));  // coordinator state
  record.PutString("seed: 3\n");
  const fs::path dir = testing::FreshTempDir("checkpoint_v2");
  const std::string path = (dir / "checkpoint.bin").string();
  testing::WriteFile(path, record.Finish());
  auto read = ReadCheckpoint(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->round, 6);
  EXPECT_EQ(read->coordinator_state, Vector::Constant(6, 0.125));
  EXPECT_EQ(read->averaged_rounds, 0);
  EXPECT_EQ(read->average.size(), 0);
  EXPECT_EQ(read->config_yaml, "seed: 3\n");
}

// An average that claims models but holds no numbers (or numbers but no models) is DataLoss.
TEST(CheckpointTest, AnIterateAverageWithoutItsNumbersIsDataLoss) {
  const fs::path dir = testing::FreshTempDir("checkpoint_average");
  const std::string path = (dir / "checkpoint.bin").string();
  for (const auto& [count, size] : {std::pair{3, 0}, std::pair{0, 4}, std::pair{-2, 4}}) {
    BinaryRecordWriter record("FEDSILOCKPT3");
    record.Put<int32_t>(6);
    record.Put<int32_t>(0);
    record.Put<uint64_t>(0);
    record.PutVector(Vector::Constant(4, 0.5));
    record.PutVector(Vector());
    record.Put<int32_t>(count);
    record.PutVector(Vector::Constant(size, 1.0));
    record.PutString("seed: 3\n");
    testing::WriteFile(path, record.Finish());
    const absl::StatusOr<Checkpoint> read = ReadCheckpoint(path);
    EXPECT_TRUE(absl::IsDataLoss(read.status())) << count << " models, " << size << " numbers";
  }
}

// The fuzz reproducers of tests/fuzz/regressions/{silo_journal,checkpoint}_fuzzer, turned into
// files as the targets do (first byte odd: the rest plus its correct checksum). Both hold an
// empty vector, whose read was undefined behaviour (memcpy from a null pointer; UBSan in the fuzz
// build); the files then end mid-field, which is the DataLoss both readers must give.
std::string FuzzRecordFile(const std::string& target, const std::string& name) {
  std::ifstream in(std::string(FEDSILO_SOURCE_DIR) + "/tests/fuzz/regressions/" + target + "/" + name,
                   std::ios::binary);
  std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(input.empty());
  EXPECT_EQ(input[0] & 1, 1);
  std::string bytes = input.substr(1);
  const uint64_t checksum = Fnv1a64(bytes.data(), bytes.size());
  bytes.append(reinterpret_cast<const char*>(&checksum), sizeof(checksum));
  const fs::path path = fs::temp_directory_path() / ("fedsilo_" + target + "_" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

TEST(SiloJournalTest, FuzzReproducerWithAnEmptyDeltaIsDataLossNotUndefinedBehaviour) {
  const std::string path = FuzzRecordFile("silo_journal_fuzzer", "ubsan_empty_vector_memcpy_null");
  absl::StatusOr<SiloJournal> journal = ReadSiloJournal(path);
  fs::remove(path);
  ASSERT_FALSE(journal.ok());
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(journal.status().message().find("is corrupt: a field runs past the end"),
            std::string::npos)
      << journal.status();
}

TEST(CheckpointTest, FuzzReproducerWithEmptyParametersIsDataLossNotUndefinedBehaviour) {
  const std::string path = FuzzRecordFile("checkpoint_fuzzer", "ubsan_empty_vector_memcpy_null");
  absl::StatusOr<Checkpoint> checkpoint = ReadCheckpoint(path);
  fs::remove(path);
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_EQ(checkpoint.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(checkpoint.status().message().find("is corrupt: a field runs past the end"),
            std::string::npos)
      << checkpoint.status();
}

}  // namespace
}  // namespace fedsilo
