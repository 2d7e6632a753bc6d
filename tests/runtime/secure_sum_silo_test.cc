// A secure-sum silo (sdp_sum_minibatch_sgd): its privacy plan, its noisy sum and the two shares it
// splits it into, its budget and its journal, checked against values computed here: the public
// plan's fields from their formulas, the expected noisy sum from the quadratic model's clipped
// gradients, the budget from the composed Skellam curve at the silo's own rate.
#include <algorithm>
#include <cmath>
#include <memory>

#include <gtest/gtest.h>

#include "common/algorithms/algorithm_registry.h"
#include "common/algorithms/sdp_sum_minibatch_sgd.h"
#include "common/algorithms/secure_sum_oracle.h"
#include "common/dp/rdp.h"
#include "common/dp/secure_sum_plan.h"
#include "common/dp/rdp_accountant.h"
#include "common/dp/skellam_calibration.h"
#include "common/runtime/silo_journal_file.h"
#include "common/runtime/silo_privacy.h"
#include "common/runtime/silo_runtime.h"
#include "common/transport/sealed_report.h"
#include "common/transport/shuffling_transport.h"
#include "common/transport/unsealing_transport.h"
#include "tests/algorithms/test_models.h"
#include "tests/testing/process.h"
#include "tests/testing/silo_rig.h"

namespace fedsilo {
namespace {

using testing::LineDataset;
using testing::QuadraticModel;
using testing::Range;

constexpr int kDim = 3;
constexpr int kBatch = 8;
constexpr int kRounds = 6;
constexpr int kRecords = 32;

PrivacyConfig Privacy() {
  PrivacyConfig privacy;
  privacy.epsilon = 4.0;
  privacy.delta = 1e-5;
  privacy.clip = 0.5;
  privacy.min_silo_records = 16;
  return privacy;  // sampling poisson, the default
}

AlgorithmConfig Algorithm() {
  AlgorithmConfig algorithm;
  algorithm.name = "sdp_sum_minibatch_sgd";
  algorithm.rounds = kRounds;
  algorithm.batch_size = kBatch;
  algorithm.lr = 0.25;
  return algorithm;
}

PrivacyExtras Extras(int64_t min_honest = 3, int64_t max_silos = 5) {
  PrivacyExtras extras;
  extras.num_parameters = kDim;
  extras.secure_sum = SecureSumExtras{min_honest, max_silos};
  return extras;
}

struct SumSilo {
  explicit SumSilo(std::optional<ReportPublicKey> seal_for = {},
                   const PrivacyExtras& extras = Extras(),
                   std::shared_ptr<const SiloSetup> setup = nullptr)
      : data(LineDataset(kRecords, kDim)), model(kDim) {
    auto made = PlanSiloPrivacy(Privacy(), Algorithm(), true, 1, kRecords, extras);
    EXPECT_TRUE(made.ok()) << made.status();
    plan = *made;
    SiloRuntimeOptions options;
    options.silo_id = 0;
    options.model = &model;
    options.data = &data;
    options.train_rows = Range(kRecords);
    options.program = std::make_shared<SdpSumMinibatchSgdSiloProgram>();
    options.setup = std::move(setup);
    options.privacy = plan;
    options.private_seed = 5;
    options.seal_for = seal_for;
    options.keep_last_answer = true;
    runtime = std::make_unique<SiloRuntime>(std::move(options));
  }
  SiloTask Task(int round) const {
    return SiloTask{round, 0, std::make_shared<const Vector>(Vector::Constant(kDim, 0.1))};
  }
  Dataset data;
  QuadraticModel model;
  SiloPrivacyPlan plan;
  std::unique_ptr<SiloRuntime> runtime;
};

TEST(SecureSumSiloPlanTest, EverySiloGetsThePublicPlanAndCountsItsOwnRate) {
  auto small = PlanSiloPrivacy(Privacy(), Algorithm(), true, 1, 16, Extras());
  auto large = PlanSiloPrivacy(Privacy(), Algorithm(), true, 1, 64, Extras());
  ASSERT_TRUE(small.ok() && large.ok()) << small.status() << large.status();
  ASSERT_TRUE(small->secure_sum && large->secure_sum);
  const SecureSumPlan& a = small->secure_sum->sum;
  const SecureSumPlan& b = large->secure_sum->sum;
  EXPECT_EQ(a.params.scale, b.params.scale);
  EXPECT_EQ(a.params.bits, b.params.bits);
  EXPECT_EQ(a.params.shares, 2);
  EXPECT_EQ(a.total_variance, b.total_variance);
  EXPECT_EQ(a.range, b.range);
  EXPECT_DOUBLE_EQ(a.share_variance * 3, a.total_variance);  // 3 honest silos carry the total
  EXPECT_DOUBLE_EQ(a.params.scale, 256.0 * std::sqrt(3.0) / 0.5);
  EXPECT_DOUBLE_EQ(a.params.record_bound, 257.0 * std::sqrt(3.0));
  // The public plan spends the budget at q_pub = 8 / 16 over the planned rounds.
  const SkellamSampling public_rate{Subsampling::kPoissonReplaceOne, 0.5};
  auto at_public = SkellamRoundsEpsilon(a.total_variance, a.sensitivity, public_rate, kRounds,
                                        1e-5, DefaultRdpOrders());
  ASSERT_TRUE(at_public.ok());
  EXPECT_LE(at_public->epsilon, 4.0);
  EXPECT_GT(at_public->epsilon, 3.99);
  // Each silo's own rate, and the most rounds that fit at it: more for the larger silo.
  EXPECT_DOUBLE_EQ(small->secure_sum->sampling_rate, 0.5);
  EXPECT_DOUBLE_EQ(large->secure_sum->sampling_rate, 0.125);
  EXPECT_EQ(small->secure_sum->max_rounds, kRounds);
  EXPECT_GT(large->secure_sum->max_rounds, 3 * kRounds);
  for (const SiloPrivacyPlan* plan : {&*small, &*large}) {
    const SkellamSampling own{Subsampling::kPoissonReplaceOne, plan->secure_sum->sampling_rate};
    const int64_t most = plan->secure_sum->max_rounds;
    auto at = SkellamRoundsEpsilon(a.total_variance, a.sensitivity, own, most, 1e-5,
                                   DefaultRdpOrders());
    auto past = SkellamRoundsEpsilon(a.total_variance, a.sensitivity, own, most + 1, 1e-5,
                                     DefaultRdpOrders());
    ASSERT_TRUE(at.ok() && past.ok());
    EXPECT_LE(at->epsilon, 4.0);
    EXPECT_GT(past->epsilon, 4.0);
  }
}

TEST(SecureSumSiloPlanTest, RefusesWhatTheAnalysisDoesNotCover) {
  const auto refused = [](PrivacyConfig privacy, int64_t n, const char* what) {
    auto plan = PlanSiloPrivacy(privacy, Algorithm(), true, 1, n, Extras());
    EXPECT_TRUE(absl::IsInvalidArgument(plan.status())) << what;
    EXPECT_NE(plan.status().message().find(what), std::string::npos) << plan.status();
  };
  PrivacyConfig fixed = Privacy();
  fixed.sampling = "without_replacement";
  refused(fixed, 100, "needs poisson");
  PrivacyConfig no_delta = Privacy();
  no_delta.delta = 0.0;
  refused(no_delta, 100, "explicit delta");
  refused(Privacy(), 15, "below privacy.min_silo_records = 16");
}

// The oracle's noisy sum (mod 2^bits) decodes to an integer sum whose mean over many rounds is
// scale * q * (the sum of the silo's clipped gradients), each record in a Poisson batch with
// probability q.
TEST(SecureSumSiloTest, TheNoisySumIsAnUnbiasedEstimateOfTheClippedGradients) {
  SumSilo silo;
  const SecureSumPlan& sum = silo.plan.secure_sum->sum;
  const Vector w = Vector::Constant(kDim, 0.1);
  Vector clipped_total = Vector::Zero(kDim);
  for (int i = 0; i < kRecords; ++i) {
    Vector g(kDim);
    for (int j = 0; j < kDim; ++j) g[j] = 0.1 - (j + 1.0) * i / kRecords;
    if (g.norm() > 0.5) g *= 0.5 / g.norm();
    clipped_total += g;
  }
  const double q = static_cast<double>(kBatch) / kRecords;
  const Vector expected = sum.params.scale * q * clipped_total;
  const SecureSumOracleSettings settings{kBatch, 0.5, sum.params, sum.range, sum.share_variance,
                                         {}};
  const int draws = 4000;
  const uint64_t mask = (uint64_t{1} << sum.params.bits) - 1;
  Vector mean = Vector::Zero(kDim);
  for (int t = 0; t < draws; ++t) {
    Rng sampling(DeriveSeed(2, "b", t)), noise(DeriveSeed(2, "n", t));
    SecureSumOracle oracle(OracleData{&silo.model, &silo.data, silo.runtime->train_rows()},
                           settings, &sampling, &noise);
    SumShare out;
    ASSERT_TRUE(oracle.NextNoisySum(w, &out).ok());
    ASSERT_EQ(out.values.size(), static_cast<size_t>(kDim));
    for (int j = 0; j < kDim; ++j) {
      const uint64_t total = out.values[j] & mask;
      const int64_t centered = total >= (uint64_t{1} << (sum.params.bits - 1))
                                   ? static_cast<int64_t>(total) - (int64_t{1} << sum.params.bits)
                                   : static_cast<int64_t>(total);
      mean[j] += static_cast<double>(centered) / draws;
    }
    if (t == 0) {  // one sum per task, nothing else
      EXPECT_EQ(out.silos, 0);
      EXPECT_EQ(out.bits, sum.params.bits);
      EXPECT_TRUE(absl::IsFailedPrecondition(oracle.NextNoisySum(w, &out)));
      Vector g;
      EXPECT_TRUE(absl::IsFailedPrecondition(oracle.Next(w, &g)));
    }
  }
  // Standard error: the noise share and the Poisson batch (each record's scaled clipped gradient,
  // at most scale * 0.5, kept with probability q) and the rounding of the sum (<= 1/4).
  const double per_draw = sum.share_variance +
                          kRecords * q * std::pow(sum.params.scale * 0.5, 2) + 0.25;
  const double se = std::sqrt(per_draw / draws);
  for (int j = 0; j < kDim; ++j) EXPECT_NEAR(mean[j], expected[j], 5 * se) << j;
}

// The silo's round-1 answer is a token and the shuffler's share, nothing else: the share the
// coordinator derives from the token plus the shuffler's is, mod 2^bits, exactly the noisy sum
// that an oracle with the silo's round-1 generators (recomputed here from its seed) makes.
TEST(SecureSumSiloTest, SplitsItsSumIntoADerivedShareAndTheRestAndRefusesPastItsBudget) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  SumSilo silo(keys->public_key());
  auto first = silo.runtime->Handle(silo.Task(1));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->sealed.size(), 1u);
  ASSERT_EQ(first->sum_shares.size(), 1u);
  EXPECT_EQ(first->sealed[0].size(), 88u);
  EXPECT_EQ(std::string(first->sealed[0].begin(), first->sealed[0].begin() + 4), "FSD1");
  auto opened = keys->Open(first->sealed[0]);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_TRUE(opened->share.has_value());
  EXPECT_EQ(opened->round, 1);
  ASSERT_EQ(opened->share->values.size(), static_cast<size_t>(kDim));
  const SecureSumPlan& sum = silo.plan.secure_sum->sum;
  Rng sampling(DeriveSeed(5, "batch", 1)), noise(DeriveSeed(5, "noise", 1));
  SecureSumOracle replay(OracleData{&silo.model, &silo.data, silo.runtime->train_rows()},
                         SecureSumOracleSettings{kBatch, 0.5, sum.params, sum.range,
                                                 sum.share_variance, {}},
                         &sampling, &noise);
  SumShare whole;
  ASSERT_TRUE(replay.NextNoisySum(*silo.Task(1).global, &whole).ok());
  const uint64_t mask = (uint64_t{1} << sum.params.bits) - 1;
  for (int j = 0; j < kDim; ++j) {
    EXPECT_EQ((opened->share->values[j] + first->sum_shares[0].values[j]) & mask, whole.values[j]);
    EXPECT_NE(first->sum_shares[0].values[j], whole.values[j]);  // the shuffler's is masked
  }
  const SiloPrivacyReport report = silo.runtime->PrivacyReport();
  EXPECT_TRUE(report.secure_sum);
  EXPECT_EQ(report.min_shuffled_reports, 3);
  EXPECT_EQ(report.noisy_queries, 1);
  EXPECT_GT(report.epsilon, 0.0);
  // The silo serves exactly max_rounds rounds, then refuses whatever it is asked.
  const int64_t most = silo.plan.secure_sum->max_rounds;
  for (int round = 2; round <= most; ++round) ASSERT_TRUE(silo.runtime->Handle(silo.Task(round)).ok());
  EXPECT_LE(silo.runtime->spent_epsilon(), 4.0);
  auto refused = silo.runtime->Handle(silo.Task(static_cast<int>(most) + 1));
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("secure-sum rounds"), std::string::npos);
  EXPECT_EQ(silo.runtime->secure_sum_rounds(), most);
  EXPECT_TRUE(absl::IsResourceExhausted(silo.runtime->CanServeAnotherRound()));
}

// Without the coordinator's key a silo cannot split its sum, so it refuses the round before
// drawing or counting anything.
TEST(SecureSumSiloTest, WithoutACoordinatorKeyItRefusesAndCountsNothing) {
  SumSilo silo;  // no key
  auto refused = silo.runtime->Handle(silo.Task(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("public key"), std::string::npos);
  EXPECT_EQ(silo.runtime->secure_sum_rounds(), 0);
  EXPECT_EQ(silo.runtime->spent_epsilon(), 0.0);
}

TEST(SecureSumSiloTest, TheJournalKeepsTheRoundsAndBothSharesOfTheLastAnswer) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  SumSilo silo(keys->public_key());
  ASSERT_TRUE(silo.runtime->Handle(silo.Task(1)).ok());
  auto second = silo.runtime->Handle(silo.Task(2));
  ASSERT_TRUE(second.ok());
  const std::string path = (testing::FreshTempDir("sum_journal") / "silo.journal").string();
  ASSERT_TRUE(WriteSiloJournal(path, silo.runtime->Journal()).ok());
  auto read = ReadSiloJournal(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shuffled_rounds, 2);
  EXPECT_EQ(read->last_update.sealed, second->sealed);
  ASSERT_EQ(read->last_update.sum_shares.size(), 1u);
  EXPECT_EQ(read->last_update.sum_shares[0].values, second->sum_shares[0].values);
  SumSilo restarted(keys->public_key());
  ASSERT_TRUE(restarted.runtime->Restore(*read).ok());
  EXPECT_EQ(restarted.runtime->secure_sum_rounds(), 2);
  EXPECT_EQ(restarted.runtime->spent_epsilon(), silo.runtime->spent_epsilon());
  // Asked round 2 again at the same parameters, it re-sends its token and share, counting
  // nothing.
  auto resent = restarted.runtime->Handle(restarted.Task(2));
  ASSERT_TRUE(resent.ok()) << resent.status();
  EXPECT_EQ(resent->sealed, second->sealed);
  EXPECT_EQ(resent->sum_shares[0].values, second->sum_shares[0].values);
  EXPECT_EQ(restarted.runtime->secure_sum_rounds(), 2);
}

// Fails in every round for the silos in `down`, else the secure-sum program.
class DroppingProgram : public SiloProgram {
 public:
  explicit DroppingProgram(std::vector<int> down) : down_(std::move(down)) {}
  absl::StatusOr<SiloUpdate> Train(const SiloTask& task, SiloContext& context) const override {
    if (std::find(down_.begin(), down_.end(), context.silo_id) != down_.end()) {
      return absl::UnavailableError("this silo dropped mid-round");
    }
    return SdpSumMinibatchSgdSiloProgram().Train(task, context);
  }

 private:
  std::vector<int> down_;
};

// Through the real silos, shuffler and coordinator edge: records whose gradients are all zero at
// w, so the decoded sum is the noise alone. With every silo or only the fewest honest ones (3 of
// 5) replying, its variance per coordinate is the replying silos' shares, never below the
// calibrated total; with fewer the shuffler forwards nothing.
TEST(SecureSumSiloTest, DropoutsDownToTheFewestHonestSilosLeaveAtLeastTheCalibratedNoise) {
  constexpr int kWide = 20, kSilos = 5, kRoundsRun = 150;
  Dataset data;
  data.x = Matrix::Constant(kRecords, kWide, 0.1);  // the gradient w - x is 0 at w = 0.1
  data.y.assign(kRecords, 0);
  data.num_classes = 2;
  QuadraticModel model(kWide);
  AlgorithmConfig algorithm = Algorithm();
  algorithm.rounds = kRoundsRun;
  PrivacyExtras extras = Extras(3, kSilos);
  extras.num_parameters = kWide;
  auto plan = PlanSiloPrivacy(Privacy(), algorithm, true, 1, kRecords, extras);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const SecureSumPlan& sum = plan->secure_sum->sum;
  for (const std::vector<int>& down : {std::vector<int>{}, std::vector<int>{1, 4},
                                       std::vector<int>{0, 2, 3}}) {
    auto keys = CoordinatorKeyPair::Generate();
    ASSERT_TRUE(keys.ok());
    const ReportPublicKey public_key = keys->public_key();
    testing::SiloRig rig(kSilos, std::make_shared<DroppingProgram>(down), &data, &model, 2, 9,
                         [&](int, SiloRuntimeOptions& options) {
                           options.train_rows = Range(kRecords);
                           options.privacy = *plan;
                           options.seal_for = public_key;
                         });
    ShufflingTransport shuffler(rig.transport.get(), 11);
    UnsealingTransport edge(&shuffler, std::move(*keys));
    const int replying = kSilos - static_cast<int>(down.size());
    double sum_squares = 0.0;
    int64_t samples = 0;
    const uint64_t mask = (uint64_t{1} << sum.params.bits) - 1;
    for (int round = 1; round <= kRoundsRun; ++round) {
      const RoundResults results = edge.Train(rig.Tasks(round, Vector::Constant(kWide, 0.1)));
      if (replying < 3) {
        EXPECT_TRUE(results.updates.empty()) << "round " << round;
        continue;
      }
      ASSERT_EQ(results.updates.size(), static_cast<size_t>(replying) + 1);
      std::vector<uint64_t> total(kWide, 0);
      for (const SiloUpdate& update : results.updates) {
        for (int j = 0; j < kWide; ++j) total[j] = (total[j] + update.sum_shares[0].values[j]) & mask;
      }
      for (int j = 0; j < kWide; ++j) {
        const int64_t centered = total[j] >= (uint64_t{1} << (sum.params.bits - 1))
                                     ? static_cast<int64_t>(total[j]) - (int64_t{1} << sum.params.bits)
                                     : static_cast<int64_t>(total[j]);
        sum_squares += static_cast<double>(centered) * static_cast<double>(centered);
        ++samples;
      }
    }
    if (replying < 3) continue;
    const double variance = sum_squares / static_cast<double>(samples);  // the mean is 0
    const double expected = replying * sum.share_variance;
    const double se = std::sqrt(2.0 / static_cast<double>(samples));  // relative
    SCOPED_TRACE(::testing::Message() << replying << " silos replying");
    EXPECT_NEAR(variance / expected, 1.0, 4 * se);
    EXPECT_GE(variance, sum.total_variance * (1.0 - 4 * se));
  }
}

TEST(SecureSumSiloTest, TheAlgorithmIsRegisteredAsASecureSumOne) {
  auto spec = FindAlgorithm("sdp_sum_minibatch_sgd");
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(spec->requires_shuffler);
  EXPECT_TRUE(spec->secure_sum);
  EXPECT_TRUE(spec->record_level_dp);
  ASSERT_TRUE(spec->reports_per_silo);
  EXPECT_EQ(spec->reports_per_silo(Algorithm()), 1);
}

// sdp_sum_fair_fermi's pieces on the quadratic model: separate clip blocks and a count release.
// Blocks {2 values to 0.5, 1 value to 2}: equalized, a record's row is within sqrt(2) * 0.5.
const std::vector<ClipBlock> kBlocks = {{2, 0.5}, {1, 2.0}};

// Releases one histogram (every record in cell 0 of 2) and trains the shared model.
class CountingSetup : public SiloSetup {
 public:
  std::optional<CountReleaseBudget> count_release() const override {
    return CountReleaseBudget{.epsilon_fraction = 0.1, .noise_multiplier = 3.0};
  }
  absl::StatusOr<std::unique_ptr<Model>> Run(const SiloSetupContext& context) const override {
    Vector counts;
    FEDSILO_RETURN_IF_ERROR(context.counts->Release([](int) { return 0; }, 2, &counts));
    return std::unique_ptr<Model>(std::make_unique<QuadraticModel>(kDim));
  }
};

PrivacyExtras BlockExtras() {
  PrivacyExtras extras = Extras();
  extras.clip_blocks = kBlocks;
  extras.count_release = CountingSetup().count_release();
  return extras;
}

// The plan: the public plan is made for the equalized bound sqrt(2) * 0.5 and composes the count
// release (multiplier 3: RDP alpha / 18 per order) with the rounds; the silo's most rounds fit
// (epsilon, delta) with the count, one more does not.
TEST(SecureSumSiloPlanTest, ClipBlocksAndACountReleaseArePlannedTogether) {
  auto plan = PlanSiloPrivacy(Privacy(), Algorithm(), true, 1, kRecords, BlockExtras());
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_TRUE(plan->secure_sum && plan->count_event && plan->count_rdp);
  const SecureSumPlan& sum = plan->secure_sum->sum;
  EXPECT_DOUBLE_EQ(sum.params.scale, 256.0 * std::sqrt(3.0) / (std::sqrt(2.0) * 0.5));
  EXPECT_EQ(plan->count_event->noise_multiplier, 3.0);
  EXPECT_DOUBLE_EQ(plan->count_noise_std, 3.0 * std::sqrt(2.0));
  ASSERT_EQ(plan->oracle.clip_blocks.size(), 2u);
  const std::vector<double> orders = DefaultRdpOrders();
  std::vector<double> count(orders.size());
  for (size_t i = 0; i < orders.size(); ++i) count[i] = orders[i] / 18.0;
  for (size_t i = 0; i < orders.size(); ++i) {
    EXPECT_NEAR((*plan->count_rdp)[i], count[i], 1e-12 * orders[i]);
  }
  const SkellamSampling own{Subsampling::kPoissonReplaceOne, plan->secure_sum->sampling_rate};
  const int64_t most = plan->secure_sum->max_rounds;
  EXPECT_GE(most, kRounds);
  auto at =
      SkellamRoundsEpsilon(sum.total_variance, sum.sensitivity, own, most, 1e-5, orders, count);
  auto past =
      SkellamRoundsEpsilon(sum.total_variance, sum.sensitivity, own, most + 1, 1e-5, orders, count);
  ASSERT_TRUE(at.ok() && past.ok());
  EXPECT_LE(at->epsilon, 4.0);
  EXPECT_GT(past->epsilon, 4.0);
  // Without the count the same rounds would fit with less noise.
  auto plain = PlanSiloPrivacy(Privacy(), Algorithm(), true, 1, kRecords, Extras());
  ASSERT_TRUE(plain.ok());
  EXPECT_GT(sum.total_variance, plain->secure_sum->sum.total_variance);
}

// With every record in the batch (Poisson rate 1) and no noise share, the oracle's sum decodes to
// the records' gradients clipped block by block and equalized, summed here by hand, to within the
// rounding (less than one integer unit a coordinate).
TEST(SecureSumSiloTest, BlockClippedSumsAreEqualizedBeforeRounding) {
  const Dataset data = LineDataset(kRecords, kDim);
  const QuadraticModel model(kDim);
  const Vector w = Vector::Constant(kDim, 0.1);
  Vector expected = Vector::Zero(kDim);
  for (int i = 0; i < kRecords; ++i) {
    Vector g(kDim);
    for (int j = 0; j < kDim; ++j) g[j] = 0.1 - (j + 1.0) * i / kRecords;  // w - x_i
    const double head = g.head(2).norm();
    if (head > 0.5) g.head(2) *= 0.5 / head;
    if (std::abs(g[2]) > 2.0) g[2] *= 2.0 / std::abs(g[2]);
    g[2] *= 0.5 / 2.0;  // equalized to the first block's bound
    expected += g;
  }
  SecureSumSetting setting;
  setting.clip = std::sqrt(2.0) * 0.5;
  setting.dimension = kDim;
  setting.batch = kRecords;
  setting.records = kRecords;
  setting.rounds = kRounds;
  setting.epsilon = 4.0;
  setting.max_silos = 1;
  auto plan = PlanSecureSum(setting, DefaultRdpOrders());
  ASSERT_TRUE(plan.ok()) << plan.status();
  Rng sampling(1), noise(2);
  const std::vector<int> rows = Range(kRecords);
  SecureSumOracle oracle(OracleData{&model, &data, rows},
                         SecureSumOracleSettings{kRecords, 0.5, plan->params, plan->range, 0.0,
                                                 kBlocks},
                         &sampling, &noise);
  SumShare out;
  ASSERT_TRUE(oracle.NextNoisySum(w, &out).ok());
  const int bits = plan->params.bits;
  for (int j = 0; j < kDim; ++j) {
    const uint64_t v = out.values[j];
    const int64_t signed_v = v >= (uint64_t{1} << (bits - 1))
                                 ? static_cast<int64_t>(v) - (int64_t{1} << bits)
                                 : static_cast<int64_t>(v);
    const auto centered = static_cast<double>(signed_v);
    EXPECT_NEAR(centered, plan->params.scale * expected[j], 1.0) << j;
  }
  EXPECT_GT(std::abs(expected[2]), 0.1);  // the equalized block is not empty
}

// A silo whose setup releases counts: its spent epsilon is the count and its rounds composed,
// recomputed here from the plan's curves.
TEST(SecureSumSiloTest, SpentEpsilonComposesTheCountReleaseWithTheRounds) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  SumSilo silo(keys->public_key(), BlockExtras(), std::make_shared<CountingSetup>());
  const SiloPrivacyPlan* plan = &silo.plan;
  SiloRuntime& runtime = *silo.runtime;
  ASSERT_TRUE(runtime.Setup().ok());
  const std::vector<double> orders = DefaultRdpOrders();
  auto count_only = EpsilonFromRdp(orders, *plan->count_rdp, 1e-5);
  ASSERT_TRUE(count_only.ok());
  EXPECT_NEAR(runtime.spent_epsilon(), count_only->epsilon, 1e-12);  // the count, no round yet
  for (int round = 1; round <= 2; ++round) {
    ASSERT_TRUE(runtime.Handle(SiloTask{round, 0, std::make_shared<const Vector>(
                                                      Vector::Constant(kDim, 0.1))})
                    .ok());
  }
  std::vector<double> rdp = *plan->secure_sum->round_rdp;
  for (size_t i = 0; i < rdp.size(); ++i) rdp[i] = 2.0 * rdp[i] + (*plan->count_rdp)[i];
  auto expected = EpsilonFromRdp(orders, rdp, 1e-5);
  ASSERT_TRUE(expected.ok());
  EXPECT_NEAR(runtime.spent_epsilon(), expected->epsilon, 1e-12);
  EXPECT_GT(runtime.spent_epsilon(), count_only->epsilon);
}

}  // namespace
}  // namespace fedsilo
