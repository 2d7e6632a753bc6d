// Per-FedAvg: closed forms on the quadratic test model, reduction to FedAvg at alpha = 0 on the
// same batches, the finite-difference HVP against the logistic model's closed-form Hessian,
// query counts in the privacy ledger, and the private-mode refusals.
#include "common/algorithms/per_fedavg.h"

#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "common/algorithms/algorithm_registry.h"
#include "common/algorithms/fedavg.h"
#include "common/algorithms/gradient_oracle.h"
#include "common/model/logistic_model.h"
#include "tests/algorithms/test_models.h"

namespace fedsilo {
namespace {

using testing::LineDataset;
using testing::QuadraticModel;
using testing::Range;

PerFedAvgOptions Options(PerFedAvgVariant variant, int steps, double alpha, double beta,
                         int batch) {
  PerFedAvgOptions options;
  options.variant = variant;
  options.local_steps = steps;
  options.alpha = alpha;
  options.beta = beta;
  options.delta = 1e-3;
  options.batch_size = options.outer_batch_size = options.hessian_batch_size = batch;
  return options;
}

Vector TrainOnce(const SiloProgram& program, GradientOracle* oracle, const Model& model,
                 const Vector& w0) {
  SiloContext context{0, &model, oracle, 1.0};
  auto update = program.Train(SiloTask{1, 0, std::make_shared<const Vector>(w0)}, context);
  EXPECT_TRUE(update.ok()) << update.status();
  return update.ok() ? Vector(w0 + update->delta) : w0;
}

// Logistic data: 30 records in 3 dimensions with mixed labels.
Dataset LogisticData(int n = 30, int dim = 3) {
  Dataset data;
  data.x.resize(n, dim);
  data.y.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < dim; ++j) data.x(i, j) = std::sin(1.3 * i + 0.7 * j) + 0.1 * j;
    data.y[static_cast<size_t>(i)] = (i * 7 + 3) % 5 < 2 ? 1 : 0;
  }
  data.num_classes = 2;
  return data;
}

// ------------------------------------------------------------------ closed forms (quadratic)

// Full batch on f(w) = mean_i 0.5 ||w - x_i||^2 (gradient w - m, Hessian I):
//   fo: w~ - m = (1 - alpha)(w - m), so w <- w - beta (1 - alpha)(w - m);
//   hf/exact: d = H g = g, so w <- w - beta (1 - alpha)^2 (w - m).
TEST(PerFedAvgTest, FullBatchQuadraticClosedForms) {
  const Dataset data = LineDataset(12, 3);
  const QuadraticModel model(3);
  const std::vector<int> rows = Range(12);
  const Vector m = data.x.colwise().mean().transpose();
  Vector w0(3);
  w0 << 2.0, -1.0, 0.5;
  const double alpha = 0.3, beta = 0.2;
  const int tau = 4;
  OracleSettings settings;
  settings.batch_size = 12;
  for (auto [variant, factor] :
       {std::pair{PerFedAvgVariant::kFirstOrder, 1 - alpha},
        std::pair{PerFedAvgVariant::kHessianFree, (1 - alpha) * (1 - alpha)},
        std::pair{PerFedAvgVariant::kExact, (1 - alpha) * (1 - alpha)}}) {
    Rng rng(7);
    PlainGradientOracle oracle(OracleData{&model, &data, rows}, settings, &rng);
    const Vector w = TrainOnce(PerFedAvgSiloProgram(Options(variant, tau, alpha, beta, 12)),
                               &oracle, model, w0);
    const Vector expected = m + std::pow(1 - beta * factor, tau) * (w0 - m);
    EXPECT_LT((w - expected).norm(), 1e-9) << static_cast<int>(variant);
  }
}

// A fake oracle whose k-th query sees the quadratic with centre c_k (k = 0, 1, 2, ...), as if
// each batch had its own mean; it records the batch size and the point of every query.
class CentredOracle : public GradientOracle {
 public:
  explicit CentredOracle(std::vector<Vector> centres) : centres_(std::move(centres)) {}
  absl::Status Next(const Vector& w, Vector* grad) override { return Next(w, -1, grad); }
  absl::Status Next(const Vector& w, int batch_size, Vector* grad) override {
    sizes.push_back(batch_size);
    points.push_back(w);
    *grad = w - centres_[calls_++];
    return absl::OkStatus();
  }
  absl::Status NextGradientDifference(const Vector& a, const Vector& b, double scale,
                                      int batch_size, Vector* out) override {
    sizes.push_back(batch_size);
    points.push_back(0.5 * (a + b));
    const Vector& c = centres_[calls_++];
    *out = scale * ((a - c) - (b - c));
    return absl::OkStatus();
  }
  absl::Status NextHessianVectorProduct(const Vector& w, const Vector& v, int batch_size,
                                        Vector* out) override {
    sizes.push_back(batch_size);
    points.push_back(w);
    ++calls_;
    *out = v;
    return absl::OkStatus();
  }
  double expected_batch_size() const override { return 1.0; }

  std::vector<int> sizes;
  std::vector<Vector> points;

 private:
  std::vector<Vector> centres_;
  size_t calls_ = 0;
};

// One step with three distinct batches, expected iterate by hand:
// w~ = w - a (w - c0); g = w~ - c1; fo: w - b g; hf: w - b (g - a g) (unit Hessian).
TEST(PerFedAvgTest, OneStepUsesThreeIndependentBatchesAtTheRightPoints) {
  const QuadraticModel model(2);
  Vector w0(2), c0(2), c1(2), c2(2);
  w0 << 1.0, 2.0;
  c0 << 0.5, -1.0;
  c1 << -2.0, 3.0;
  c2 << 10.0, 10.0;  // the Hessian query's centre cancels in the difference
  const double a = 0.25, b = 0.5;
  const Vector adapted = w0 - a * (w0 - c0);
  const Vector g = adapted - c1;
  PerFedAvgOptions options = Options(PerFedAvgVariant::kFirstOrder, 1, a, b, 5);
  options.outer_batch_size = 7;
  options.hessian_batch_size = 9;

  CentredOracle fo_oracle({c0, c1});
  const Vector fo = TrainOnce(PerFedAvgSiloProgram(options), &fo_oracle, model, w0);
  EXPECT_LT((fo - (w0 - b * g)).norm(), 1e-14);
  EXPECT_EQ(fo_oracle.sizes, (std::vector<int>{5, 7}));
  EXPECT_LT((fo_oracle.points[0] - w0).norm(), 1e-15);
  EXPECT_LT((fo_oracle.points[1] - adapted).norm(), 1e-15);

  options.variant = PerFedAvgVariant::kHessianFree;
  CentredOracle hf_oracle({c0, c1, c2});
  const Vector hf = TrainOnce(PerFedAvgSiloProgram(options), &hf_oracle, model, w0);
  EXPECT_LT((hf - (w0 - b * (1 - a) * g)).norm(), 1e-12);
  EXPECT_EQ(hf_oracle.sizes, (std::vector<int>{5, 7, 9}));
  // The finite difference is centred at the current iterate w, not at w~.
  EXPECT_LT((hf_oracle.points[2] - w0).norm(), 1e-12);
}

// ------------------------------------------------------------------ alpha = 0 is FedAvg

// Forwards to a real oracle but spends the batches Per-FedAvg draws and does not use when
// alpha = 0 (D before each D', and D'' after it for hf), so LocalSgd sees exactly the D' batches.
class SkippingOracle : public GradientOracle {
 public:
  SkippingOracle(GradientOracle* inner, bool skip_after) : inner_(inner), skip_after_(skip_after) {}
  absl::Status Next(const Vector& w, Vector* grad) override {
    Vector unused;
    FEDSILO_RETURN_IF_ERROR(inner_->Next(w, &unused));
    FEDSILO_RETURN_IF_ERROR(inner_->Next(w, grad));
    if (skip_after_) FEDSILO_RETURN_IF_ERROR(inner_->Next(w, &unused));
    return absl::OkStatus();
  }
  absl::Status Next(const Vector&, int, Vector*) override { return absl::UnimplementedError(""); }
  absl::Status NextGradientDifference(const Vector&, const Vector&, double, int,
                                      Vector*) override {
    return absl::UnimplementedError("");
  }
  absl::Status NextHessianVectorProduct(const Vector&, const Vector&, int, Vector*) override {
    return absl::UnimplementedError("");
  }
  double expected_batch_size() const override { return inner_->expected_batch_size(); }

 private:
  GradientOracle* inner_;
  bool skip_after_;
};

TEST(PerFedAvgTest, AlphaZeroIsFedAvgOnTheSameMinibatches) {
  const Dataset data = LogisticData();
  auto model = LogisticModel::Create(3);
  ASSERT_TRUE(model.ok());
  const std::vector<int> rows = Range(30);
  OracleSettings settings;
  settings.batch_size = 4;
  Vector w0(4);
  w0 << 0.3, -0.2, 0.1, 0.05;
  const double lr = 0.7;
  const int tau = 6;
  for (PerFedAvgVariant variant : {PerFedAvgVariant::kFirstOrder, PerFedAvgVariant::kHessianFree}) {
    Rng per_rng(11), sgd_rng(11);
    PlainGradientOracle per_oracle(OracleData{model->get(), &data, rows}, settings, &per_rng);
    PlainGradientOracle sgd_inner(OracleData{model->get(), &data, rows}, settings, &sgd_rng);
    SkippingOracle sgd_oracle(&sgd_inner, variant == PerFedAvgVariant::kHessianFree);
    const Vector per = TrainOnce(PerFedAvgSiloProgram(Options(variant, tau, 0.0, lr, 4)),
                                 &per_oracle, **model, w0);
    const Vector sgd = TrainOnce(LocalSgdSiloProgram(tau, lr), &sgd_oracle, **model, w0);
    EXPECT_LT((per - sgd).norm(), 1e-13) << static_cast<int>(variant);
    EXPECT_GT((per - w0).norm(), 1e-3);  // it did move
  }
}

// ------------------------------------------------------------------ HF -> exact HVP

// Closed-form logistic Hessian: H = mean_i p_i (1 - p_i) x~_i x~_i^T with x~ = [x, 1].
Vector LogisticHessianTimes(const Dataset& data, const Vector& w, const Vector& v) {
  const int n = static_cast<int>(data.y.size()), d = static_cast<int>(data.x.cols());
  Vector out = Vector::Zero(d + 1);
  for (int i = 0; i < n; ++i) {
    Vector x(d + 1);
    x.head(d) = data.x.row(i).transpose();
    x[d] = 1.0;
    const double p = 1.0 / (1.0 + std::exp(-w.dot(x)));
    out += p * (1 - p) * x.dot(v) * x;
  }
  return out / n;
}

TEST(PerFedAvgTest, FiniteDifferenceTendsToTheClosedFormHessianVectorProduct) {
  const Dataset data = LogisticData();
  auto model = LogisticModel::Create(3);
  ASSERT_TRUE(model.ok());
  const std::vector<int> rows = Range(30);
  OracleSettings settings;
  settings.batch_size = 30;  // full batch: both gradients and the closed form see the same data
  Vector w(4), v(4);
  w << 0.8, -1.1, 0.4, 0.2;
  v << 1.5, 0.3, -2.0, 0.7;
  const Vector exact = LogisticHessianTimes(data, w, v);
  Rng rng(3);
  PlainGradientOracle oracle(OracleData{model->get(), &data, rows}, settings, &rng);
  Vector model_hvp;
  ASSERT_TRUE(oracle.NextHessianVectorProduct(w, v, 30, &model_hvp).ok());
  EXPECT_LT((model_hvp - exact).norm(), 1e-12);
  double previous_error = 0.0;
  for (double delta : {1e-1, 1e-2, 1e-3}) {
    Vector d;
    ASSERT_TRUE(oracle.NextGradientDifference(w + delta * v, w - delta * v, 0.5 / delta, 30, &d).ok());
    const double error = (d - exact).norm();
    if (previous_error > 0) {  // central difference: O(delta^2)
      EXPECT_LT(error, previous_error / 50);
    }
    previous_error = error;
  }
  EXPECT_LT(previous_error, 1e-6 * exact.norm());
}

TEST(PerFedAvgTest, HessianFreeStepTendsToTheExactStepAsDeltaShrinks) {
  const Dataset data = LogisticData();
  auto model = LogisticModel::Create(3);
  ASSERT_TRUE(model.ok());
  const std::vector<int> rows = Range(30);
  OracleSettings settings;
  settings.batch_size = 30;
  Vector w0(4);
  w0 << 0.8, -1.1, 0.4, 0.2;
  PerFedAvgOptions options = Options(PerFedAvgVariant::kExact, 1, 0.5, 1.0, 30);
  Rng rng(1);
  PlainGradientOracle exact_oracle(OracleData{model->get(), &data, rows}, settings, &rng);
  const Vector exact = TrainOnce(PerFedAvgSiloProgram(options), &exact_oracle, **model, w0);
  // Exact step by hand: g = grad f(w - a grad f(w)); w - b (g - a H(w) g).
  Vector grad, g;
  (*model)->Gradient(w0, Batch{&data, rows}, &grad);
  (*model)->Gradient(w0 - 0.5 * grad, Batch{&data, rows}, &g);
  const Vector by_hand = w0 - (g - 0.5 * LogisticHessianTimes(data, w0, g));
  EXPECT_LT((exact - by_hand).norm(), 1e-12);
  options.variant = PerFedAvgVariant::kHessianFree;
  double previous_error = 0.0;
  for (double delta : {1e-1, 1e-2, 1e-3}) {
    options.delta = delta;
    PlainGradientOracle oracle(OracleData{model->get(), &data, rows}, settings, &rng);
    const double error =
        (TrainOnce(PerFedAvgSiloProgram(options), &oracle, **model, w0) - exact).norm();
    if (previous_error > 0) {
      EXPECT_LT(error, previous_error / 50);
    }
    previous_error = error;
  }
  EXPECT_LT(previous_error, 1e-7);
}

// ------------------------------------------------------------------ privacy

struct DpFixture {
  Dataset data = LogisticData();
  std::unique_ptr<LogisticModel> model = *LogisticModel::Create(3);
  std::vector<int> rows = Range(30);
  OracleSettings settings;
  PrivacyLedger ledger;
  Rng sampling{5}, noise{6};
  DpFixture() {
    settings.batch_size = 6;
    settings.record_level_dp = true;
    settings.clip = 1.0;
    settings.noise_std_sum = 0.5;
  }
  DpGradientOracle Oracle() {
    return DpGradientOracle(OracleData{model.get(), &data, rows}, settings, &sampling, &noise,
                            &ledger);
  }
};

TEST(PerFedAvgTest, LedgerCountsTwoQueriesPerStepFirstOrderAndThreeHessianFree) {
  for (auto [variant, per_step] : {std::pair{PerFedAvgVariant::kFirstOrder, 2},
                                   std::pair{PerFedAvgVariant::kHessianFree, 3}}) {
    DpFixture f;
    DpGradientOracle oracle = f.Oracle();
    TrainOnce(PerFedAvgSiloProgram(Options(variant, 5, 0.1, 0.1, 6)), &oracle, *f.model,
              Vector::Zero(4));
    EXPECT_EQ(f.ledger.num_queries(), 5 * per_step);
    for (const DpEvent& event : f.ledger.events()) {  // every query has the planned shape
      EXPECT_DOUBLE_EQ(event.sampling_rate, 6.0 / 30.0);
      EXPECT_DOUBLE_EQ(event.noise_multiplier, oracle.event().noise_multiplier);
    }
  }
  AlgorithmConfig config;
  config.local_steps = 5;
  config.variant = "fo";
  EXPECT_EQ(FindAlgorithm("isrl_dp_per_fedavg")->queries_per_round(config), 10);
  config.variant = "hf";
  EXPECT_EQ(FindAlgorithm("per_fedavg")->queries_per_round(config), 15);
  EXPECT_TRUE(FindAlgorithm("isrl_dp_per_fedavg")->record_level_dp);
  EXPECT_FALSE(FindAlgorithm("per_fedavg")->record_level_dp);
}

// With no noise and a clip no record reaches, the private oracle's queries (fixed-size batches)
// are the plain ones: ISRL-DP Per-FedAvg HF equals Per-FedAvg HF on the same batches.
TEST(PerFedAvgTest, PrivateWithoutNoiseOrClippingEqualsPlain) {
  DpFixture f;
  f.settings.noise_std_sum = 0.0;
  f.settings.clip = 1e9;
  DpGradientOracle dp = f.Oracle();
  Rng plain_rng(5);
  PlainGradientOracle plain(OracleData{f.model.get(), &f.data, f.rows}, f.settings, &plain_rng);
  const PerFedAvgSiloProgram program(Options(PerFedAvgVariant::kHessianFree, 4, 0.3, 0.5, 6));
  Vector w0(4);
  w0 << 0.1, 0.2, -0.3, 0.4;
  const Vector a = TrainOnce(program, &dp, *f.model, w0);
  const Vector b = TrainOnce(program, &plain, *f.model, w0);
  EXPECT_LT((a - b).norm(), 1e-12);
  EXPECT_GT((a - w0).norm(), 1e-3);
}

TEST(PerFedAvgTest, PrivateOracleRefusesExactHvpAndOtherBatchSizes) {
  DpFixture f;
  DpGradientOracle oracle = f.Oracle();
  SiloContext context{3, f.model.get(), &oracle, 1.0};
  const auto task = SiloTask{2, 3, std::make_shared<const Vector>(Vector::Zero(4))};
  auto exact = PerFedAvgSiloProgram(Options(PerFedAvgVariant::kExact, 1, 0.1, 0.1, 6))
                   .Train(task, context);
  ASSERT_FALSE(exact.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(exact.status()));
  EXPECT_NE(exact.status().message().find("Hessian-vector"), std::string::npos);
  PerFedAvgOptions options = Options(PerFedAvgVariant::kFirstOrder, 1, 0.1, 0.1, 6);
  options.outer_batch_size = 12;
  auto mismatched = PerFedAvgSiloProgram(options).Train(task, context);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("calibrated for batches of 6"), std::string::npos);
}

TEST(PerFedAvgTest, ConfigValidation) {
  AlgorithmConfig config;
  config.batch_size = 16;
  config.variant = "hf";
  EXPECT_TRUE(ValidatePerFedAvgConfig(config, true).ok());
  config.hessian_batch_size = 32;
  EXPECT_TRUE(ValidatePerFedAvgConfig(config, false).ok());
  absl::Status status = ValidatePerFedAvgConfig(config, true);
  EXPECT_NE(status.message().find("algorithm.hessian_batch_size"), std::string::npos) << status;
  config.hessian_batch_size = 0;
  config.variant = "exact";
  status = ValidatePerFedAvgConfig(config, true);
  EXPECT_NE(status.message().find("algorithm.variant"), std::string::npos) << status;
  config.variant = "so";
  EXPECT_FALSE(ValidatePerFedAvgConfig(config, false).ok());
  // beta 0 means lr; batch sizes 0 mean batch_size.
  config.variant = "fo";
  config.lr = 0.3;
  auto options = PerFedAvgOptionsFromConfig(config);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->beta, 0.3);
  EXPECT_EQ(options->outer_batch_size, 16);
  EXPECT_EQ(options->hessian_batch_size, 16);
}

}  // namespace
}  // namespace fedsilo
