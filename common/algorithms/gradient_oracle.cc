#include "common/algorithms/gradient_oracle.h"

#include <algorithm>


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
  SampleBatch(source_.rows, settings_.batch_size, settings_.sampling, *sampling_rng_, &batch_);
  if (batch_.empty()) {  // possible under Poisson sampling: an empty batch has zero gradient
    grad->setZero(w.size());
    return absl::OkStatus();
  }
  source_.model->Gradient(w, Batch{source_.data, batch_}, grad);
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

absl::Status DpGradientOracle::Next(const Vector& w, Vector* grad) {
  SampleBatch(source_.rows, settings_.batch_size, settings_.sampling, *sampling_rng_, &batch_);
  if (batch_.empty()) {
    grad->setZero(w.size());
  } else {
    source_.model->ClippedGradientSum(w, Batch{source_.data, batch_}, settings_.clip, grad);
  }
  // Noise is drawn here, inside the silo, and the ledger records it at the same moment.
  if (settings_.noise_std_sum > 0.0) {
    for (Eigen::Index i = 0; i < grad->size(); ++i) {
      (*grad)[i] += settings_.noise_std_sum * noise_rng_->Normal();
    }
  }
  ledger_->Record(event());
  *grad /= expected_batch_size();
  return absl::OkStatus();
}

}  // namespace fedsilo
