#include "common/algorithms/gradient_oracle.h"

#include <algorithm>
#include <string>

#include "common/dp/clipping.h"

namespace fedsilo {
namespace {

double ExpectedBatch(const OracleData& source, const OracleSettings& settings) {
  return static_cast<double>(
      std::min<size_t>(static_cast<size_t>(settings.batch_size), source.rows.size()));
}

}  // namespace

PlainGradientOracle::PlainGradientOracle(OracleData source, const OracleSettings& settings,
                                         Rng* sampling_rng)
    : source_(source), settings_(settings), sampling_rng_(sampling_rng) {}

double PlainGradientOracle::expected_batch_size() const { return ExpectedBatch(source_, settings_); }

absl::Status PlainGradientOracle::Next(const Vector& w, Vector* grad) {
  return Next(w, settings_.batch_size, grad);
}

absl::Status PlainGradientOracle::Next(const Vector& w, int batch_size, Vector* grad) {
  SampleBatch(source_.rows, batch_size, settings_.sampling, *sampling_rng_, &batch_);
  if (batch_.empty()) {  // possible under Poisson sampling: an empty batch has zero gradient
    grad->setZero(w.size());
    return absl::OkStatus();
  }
  source_.model->Gradient(w, Batch{source_.data, batch_}, grad);
  return absl::OkStatus();
}

absl::Status PlainGradientOracle::NextGradientDifference(const Vector& a, const Vector& b,
                                                         double scale, int batch_size,
                                                         Vector* out) {
  SampleBatch(source_.rows, batch_size, settings_.sampling, *sampling_rng_, &batch_);
  if (batch_.empty()) {
    out->setZero(a.size());
    return absl::OkStatus();
  }
  const Batch batch{source_.data, batch_};
  Vector at_b;
  source_.model->Gradient(a, batch, out);
  source_.model->Gradient(b, batch, &at_b);
  *out -= at_b;
  *out *= scale;
  return absl::OkStatus();
}

absl::Status PlainGradientOracle::NextHessianVectorProduct(const Vector& w, const Vector& v,
                                                           int batch_size, Vector* out) {
  SampleBatch(source_.rows, batch_size, settings_.sampling, *sampling_rng_, &batch_);
  if (batch_.empty()) {
    out->setZero(w.size());
    return absl::OkStatus();
  }
  source_.model->HessianVectorProduct(w, Batch{source_.data, batch_}, v, out);
  return absl::OkStatus();
}

DpGradientOracle::DpGradientOracle(OracleData source, const OracleSettings& settings,
                                   Rng* sampling_rng, Rng* noise_rng, PrivacyLedger* ledger)
    : source_(source),
      settings_(settings),
      sampling_rng_(sampling_rng),
      noise_rng_(noise_rng),
      ledger_(ledger) {}

double DpGradientOracle::expected_batch_size() const { return ExpectedBatch(source_, settings_); }

DpEvent DpGradientOracle::event() const {
  DpEvent event;
  const double n = static_cast<double>(source_.rows.size());
  event.sampling_rate = std::min(1.0, settings_.batch_size / n);
  event.count = 1;
  switch (settings_.sampling) {
    case Sampling::kPoisson:  // add/remove-one: z = std_sum / clip
      event.subsampling = Subsampling::kPoisson;
      event.noise_multiplier = settings_.noise_std_sum / settings_.clip;
      break;
    case Sampling::kWithoutReplacement:  // replace-one: z = std_sum / (2 clip)
      event.subsampling = Subsampling::kWithoutReplacement;
      event.noise_multiplier = settings_.noise_std_sum / (2.0 * settings_.clip);
      break;
    case Sampling::kWithReplacement:  // no standard accountant; recorded as what it is
      event.subsampling = Subsampling::kWithReplacement;
      event.noise_multiplier = settings_.noise_std_sum / (2.0 * settings_.clip);
      break;
  }
  if (event.sampling_rate >= 1.0) event.subsampling = Subsampling::kNone;
  return event;
}

absl::Status DpGradientOracle::CheckBatchSize(int batch_size, const char* query) const {
  if (batch_size == settings_.batch_size) return absl::OkStatus();
  return absl::FailedPreconditionError(
      std::string("private ") + query + " of " + std::to_string(batch_size) +
      " records: the silo's noise is calibrated for batches of " +
      std::to_string(settings_.batch_size) + " (algorithm.batch_size)");
}

void DpGradientOracle::Privatize(Vector* clipped_sum) {
  // Noise is drawn here, inside the silo, and the ledger records it at the same moment.
  if (settings_.noise_std_sum > 0.0) {
    for (Eigen::Index i = 0; i < clipped_sum->size(); ++i) {
      (*clipped_sum)[i] += settings_.noise_std_sum * noise_rng_->Normal();
    }
  }
  ledger_->Record(event());
  *clipped_sum /= expected_batch_size();
}

absl::Status DpGradientOracle::Next(const Vector& w, Vector* grad) {
  return Next(w, settings_.batch_size, grad);
}

absl::Status DpGradientOracle::Next(const Vector& w, int batch_size, Vector* grad) {
  FEDSILO_RETURN_IF_ERROR(CheckBatchSize(batch_size, "gradient query"));
  SampleBatch(source_.rows, settings_.batch_size, settings_.sampling, *sampling_rng_, &batch_);
  if (batch_.empty()) {
    grad->setZero(w.size());
  } else {
    source_.model->ClippedGradientSum(w, Batch{source_.data, batch_}, settings_.clip, grad);
  }
  Privatize(grad);
  return absl::OkStatus();
}

absl::Status DpGradientOracle::NextGradientDifference(const Vector& a, const Vector& b,
                                                      double scale, int batch_size, Vector* out) {
  FEDSILO_RETURN_IF_ERROR(CheckBatchSize(batch_size, "gradient-difference query"));
  SampleBatch(source_.rows, settings_.batch_size, settings_.sampling, *sampling_rng_, &batch_);
  if (batch_.empty()) {
    out->setZero(a.size());
  } else {
    // Each record contributes scale * (g_i(a) - g_i(b)), clipped to `clip` as a whole: the
    // same sensitivity as a gradient query, so the same noise and one event.
    const Batch batch{source_.data, batch_};
    Matrix at_a, at_b;
    source_.model->PerExampleGradients(a, batch, &at_a);
    source_.model->PerExampleGradients(b, batch, &at_b);
    at_a -= at_b;
    at_a *= scale;
    ClipAndSumRows(at_a, settings_.clip, out);
  }
  Privatize(out);
  return absl::OkStatus();
}

absl::Status DpGradientOracle::NextHessianVectorProduct(const Vector&, const Vector&, int,
                                                        Vector*) {
  return absl::FailedPreconditionError(
      "a private silo cannot answer an exact Hessian-vector product query (no per-record "
      "clipping of it is defined); use the finite-difference variant (hf)");
}

}  // namespace fedsilo
