// fairness.marginals: local inside a silo (SiloRuntime::Setup with FERMI's silo setup), wired as
// the registry wires isrl_dp_fair_fermi: the silo trains on its own marginals; privately its
// ledger holds the count release and every gradient query, and its spent epsilon equals the
// composition computed here from the RDP curves; the noisy marginals scatter as the Gaussian
// count's std predicts over many seeds; a silo whose count would break its budget refuses it.
#include <cmath>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "common/algorithms/algorithm_registry.h"
#include "common/algorithms/fair_fermi.h"
#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"
#include "common/model/fermi_objective.h"
#include "common/model/logistic_model.h"
#include "common/runtime/silo_privacy.h"
#include "common/runtime/silo_runtime.h"

namespace fedsilo {
namespace {

// 2000 records, 2 features, 2 groups, binary labels. Rows 0..999 (the silo under test) are 30%
// group 0; rows 1000..1999 are 70% group 0, so the pooled frequencies are 50/50. Labels: y = 1
// for every third record.
Dataset TwoPopulations() {
  Dataset data;
  data.num_classes = 2;
  data.num_groups = 2;
  data.x.resize(2000, 2);
  Rng rng(11);
  for (int i = 0; i < 2000; ++i) {
    const bool first = i < 1000;
    const int g = (i % 10 < 3) == first ? 0 : 1;
    data.group.push_back(g);
    data.y.push_back(i % 3 == 0 ? 1 : 0);
    data.x(i, 0) = rng.Normal() + g;
    data.x(i, 1) = rng.Normal() + data.y.back();
  }
  return data;
}

std::vector<int> Rows(int begin, int end) {
  std::vector<int> rows;
  for (int r = begin; r < end; ++r) rows.push_back(r);
  return rows;
}

struct Fixture {
  ExperimentConfig config;
  AlgorithmSpec spec;
  Dataset data = TwoPopulations();
  std::unique_ptr<Model> shared;
  std::shared_ptr<const SiloSetup> setup;
  PrivacyExtras extras;

  explicit Fixture(const std::string& algorithm, const std::string& notion = "demographic_parity") {
    config.algorithm.name = algorithm;
    config.algorithm.batch_size = 50;
    config.algorithm.rounds = 30;
    config.algorithm.lr = 0.5;
    config.algorithm.fairness.notion = notion;
    config.algorithm.fairness.lambda = 1.0;
    config.algorithm.fairness.marginals = "local";
    config.algorithm.fairness.w_clip = 2.0;
    config.privacy.epsilon = 1.0;
    config.privacy.delta = 1e-6;
    spec = *FindAlgorithm(algorithm);
    const std::vector<int> pooled = Rows(0, 2000);
    shared = *spec.make_objective(&config.algorithm, *LogisticModel::Create(2), data, pooled);
    setup = spec.make_silo_setup(config.algorithm);
    extras = PrivacyExtrasFor(spec, config, shared->num_parameters(), setup.get());
  }

  SiloPrivacyPlan Plan() const {
    return *PlanSiloPrivacy(config.privacy, config.algorithm, spec.record_level_dp,
                            spec.queries_per_round(config.algorithm), 1000, extras);
  }

  std::unique_ptr<SiloRuntime> Silo(const SiloPrivacyPlan& plan, uint64_t seed) const {
    SiloRuntimeOptions options;
    options.model = shared.get();
    options.data = &data;
    options.train_rows = Rows(0, 1000);
    options.program = spec.make_silo_program(config.algorithm);
    options.setup = setup;
    options.privacy = plan;
    options.private_seed = seed;
    options.weight = 1000;
    return std::make_unique<SiloRuntime>(std::move(options));
  }
};

const Matrix& MarginalsOf(const SiloRuntime& silo) {
  return dynamic_cast<const FermiObjective&>(silo.model()).options().group_marginals;
}

TEST(FermiLocalMarginalsTest, ANonPrivateSiloTrainsOnItsExactFrequencies) {
  for (const char* notion : {"demographic_parity", "equalized_odds"}) {
    Fixture f("fair_fermi", notion);
    ASSERT_NE(f.setup, nullptr);
    const auto shared_p = dynamic_cast<const FermiObjective&>(*f.shared).options().group_marginals;
    if (std::string(notion) == "demographic_parity") {
      EXPECT_NEAR(shared_p(0, 0), 0.5, 1e-12);  // the pooled frequencies
    }
    auto silo = f.Silo(f.Plan(), 5);
    // Before its setup the silo refuses tasks.
    auto global = std::make_shared<const Vector>(Vector::Zero(f.shared->num_parameters()));
    EXPECT_TRUE(absl::IsFailedPrecondition(silo->Handle(SiloTask{1, 0, global}).status()));
    ASSERT_TRUE(silo->Setup().ok());
    EXPECT_TRUE(absl::IsFailedPrecondition(silo->Setup()));
    const Matrix& p = MarginalsOf(*silo);
    // By hand on rows 0..999: group 0 is i % 10 < 3 (300 records); y = 1 is i % 3 == 0.
    double count[2][2] = {{0, 0}, {0, 0}};
    for (int i = 0; i < 1000; ++i) count[i % 3 == 0 ? 1 : 0][i % 10 < 3 ? 0 : 1] += 1;
    if (std::string(notion) == "demographic_parity") {
      ASSERT_EQ(p.rows(), 1);
      EXPECT_NEAR(p(0, 0), 0.3, 1e-12);
    } else {
      ASSERT_EQ(p.rows(), 2);
      for (int b = 0; b < 2; ++b) {
        EXPECT_NEAR(p(b, 0), count[b][0] / (count[b][0] + count[b][1]), 1e-12) << b;
      }
    }
    EXPECT_EQ(silo->ledger().num_queries(), 0);
    EXPECT_TRUE(silo->Handle(SiloTask{1, 0, global}).ok());
  }
}

TEST(FermiLocalMarginalsTest, LedgerHoldsTheCountAndEveryQueryAndEpsilonIsTheirComposition) {
  Fixture f("isrl_dp_fair_fermi");
  const SiloPrivacyPlan plan = f.Plan();
  ASSERT_TRUE(plan.count_event.has_value());
  ASSERT_EQ(plan.oracle.clip_blocks.size(), 2u);  // theta and W clipped separately
  auto silo = f.Silo(plan, 7);
  ASSERT_TRUE(silo->Setup().ok());
  auto global = std::make_shared<const Vector>(Vector::Zero(f.shared->num_parameters()));
  for (int round = 1; round <= 30; ++round) {
    ASSERT_TRUE(silo->Handle(SiloTask{round, 0, global}).ok()) << round;
  }
  // The count release first, then the 30 gradient queries (merged into one entry).
  const std::vector<DpEvent>& events = silo->ledger().events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].subsampling, Subsampling::kNone);
  EXPECT_EQ(events[0].count, 1);
  EXPECT_EQ(events[0].noise_multiplier, plan.count_event->noise_multiplier);
  EXPECT_EQ(events[1].subsampling, Subsampling::kPoissonReplaceOne);
  EXPECT_EQ(events[1].count, 30);
  EXPECT_DOUBLE_EQ(events[1].sampling_rate, 50.0 / 1000.0);
  EXPECT_EQ(silo->ledger().num_queries(), 31);
  // Independent composition: Gaussian RDP of the count plus 30 Poisson-subsampled Gaussian steps
  // (replace-one, the silo's size being public).
  const std::vector<double> orders = DefaultRdpOrders();
  std::vector<double> total = *GaussianRdp(events[0].noise_multiplier, orders);
  const std::vector<double> step =
      *PoissonSubsampledGaussianReplaceOneRdp(0.05, events[1].noise_multiplier, orders);
  for (size_t i = 0; i < total.size(); ++i) total[i] += 30.0 * step[i];
  const double expected = EpsilonFromRdp(orders, total, 1e-6)->epsilon;
  EXPECT_NEAR(silo->spent_epsilon(), expected, 1e-12);
  // The plan spent its whole budget: all 30 planned rounds, within epsilon, tightly.
  EXPECT_LE(silo->spent_epsilon(), 1.0);
  EXPECT_GT(silo->spent_epsilon(), 0.99);
  // And refuses a 31st round (its budget covers the count and 30 queries).
  EXPECT_TRUE(absl::IsResourceExhausted(silo->Handle(SiloTask{31, 0, global}).status()));
}

// Over many private seeds, the silo's noisy marginal P(s = 0) = c0' / (c0' + c1') scatters with
// the std the delta method gives for Gaussian counts of std sigma: sigma sqrt(c0^2 + c1^2) / n^2.
TEST(FermiLocalMarginalsTest, NoisyMarginalsHaveTheCountNoiseScale) {
  Fixture f("isrl_dp_fair_fermi");
  const SiloPrivacyPlan plan = f.Plan();
  const double sigma = plan.count_noise_std;
  // Replace-one (the silo's size is public): sensitivity sqrt(2).
  EXPECT_DOUBLE_EQ(sigma, plan.count_event->noise_multiplier * std::sqrt(2.0));
  EXPECT_GT(sigma, 10.0);
  const int seeds = 1000;
  double sum = 0, sum_sq = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    auto silo = f.Silo(plan, DeriveSeed(99, "seed", static_cast<uint64_t>(seed)));
    ASSERT_TRUE(silo->Setup().ok());
    const double p0 = MarginalsOf(*silo)(0, 0);
    sum += p0;
    sum_sq += p0 * p0;
    ASSERT_EQ(silo->ledger().num_queries(), 1);
  }
  const double mean = sum / seeds;
  const double std = std::sqrt(sum_sq / seeds - mean * mean);
  const double predicted = sigma * std::sqrt(300.0 * 300.0 + 700.0 * 700.0) / (1000.0 * 1000.0);
  EXPECT_NEAR(mean, 0.3, 5 * predicted / std::sqrt(seeds));
  EXPECT_NEAR(std, predicted, 0.1 * predicted);
}

TEST(FermiLocalMarginalsTest, ASiloRefusesACountPastItsBudget) {
  Fixture f("isrl_dp_fair_fermi");
  SiloPrivacyPlan plan = f.Plan();
  // A count of noise multiplier 1 alone costs far more than epsilon 1: the silo refuses it
  // before drawing anything, whatever its plan says.
  plan.count_event->noise_multiplier = 1.0;
  plan.count_rdp = std::make_shared<const std::vector<double>>(
      *ComputeRdp(*plan.count_event, DefaultRdpOrders()));
  auto greedy = f.Silo(plan, 3);
  const absl::Status refused = greedy->Setup();
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_NE(refused.message().find("refuses its count release"), absl::string_view::npos);
  EXPECT_EQ(greedy->ledger().num_queries(), 0);
  auto global = std::make_shared<const Vector>(Vector::Zero(f.shared->num_parameters()));
  EXPECT_FALSE(greedy->Handle(SiloTask{1, 0, global}).ok());
  // A plan that reserved nothing for the count: refused too.
  SiloPrivacyPlan unplanned = f.Plan();
  unplanned.count_event.reset();
  unplanned.count_rdp.reset();
  EXPECT_TRUE(absl::IsFailedPrecondition(f.Silo(unplanned, 3)->Setup()));
}

// A silo restarted from its journal (networked mode) runs its setup again: it draws and is
// charged for a second count, on top of what the journal says it spent.
TEST(FermiLocalMarginalsTest, ARestoredSiloIsChargedForItsCountAgain) {
  Fixture f("isrl_dp_fair_fermi");
  const SiloPrivacyPlan plan = f.Plan();
  auto first = f.Silo(plan, 7);
  ASSERT_TRUE(first->Setup().ok());
  auto global = std::make_shared<const Vector>(Vector::Zero(f.shared->num_parameters()));
  for (int round = 1; round <= 5; ++round) {
    ASSERT_TRUE(first->Handle(SiloTask{round, 0, global}).ok());
  }
  auto restarted = f.Silo(plan, 8);
  ASSERT_TRUE(restarted->Restore(first->Journal()).ok());
  ASSERT_TRUE(restarted->Setup().ok());
  EXPECT_EQ(restarted->ledger().num_queries(), 1 + 5 + 1);
  const std::vector<double> orders = DefaultRdpOrders();
  std::vector<double> total = *GaussianRdp(plan.count_event->noise_multiplier, orders);
  const std::vector<double> step =
      *PoissonSubsampledGaussianReplaceOneRdp(0.05, plan.query_event.noise_multiplier, orders);
  for (size_t i = 0; i < total.size(); ++i) total[i] = 2.0 * total[i] + 5.0 * step[i];
  EXPECT_NEAR(restarted->spent_epsilon(), EpsilonFromRdp(orders, total, 1e-6)->epsilon, 1e-12);
  // The second count ate into the gradient budget: fewer than the 30 planned rounds remain.
  int served = 5;
  for (int round = 6; round <= 30; ++round) {
    if (!restarted->Handle(SiloTask{round, 0, global}).ok()) break;
    ++served;
  }
  EXPECT_LT(served, 30);
  EXPECT_LE(restarted->spent_epsilon(), 1.0 + 1e-9);
}

}  // namespace
}  // namespace fedsilo
