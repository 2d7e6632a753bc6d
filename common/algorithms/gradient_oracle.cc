#include "common/algorithms/gradient_oracle.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <string>

#include "common/base/check.h"

namespace fedsilo {
namespace {

double ExpectedBatch(const OracleData& source, const OracleSettings& settings) {
  return static_cast<double>(
      std::min<size_t>(static_cast<size_t>(settings.batch_size), source.rows.size()));
}

}  // namespace

double QueryNoiseMultiplier(const OracleSettings& settings) {
  const double k = settings.sampling == Sampling::kPoisson ? 1.0 : 2.0;
  if (settings.clip_blocks.empty()) return settings.noise_std_sum / (k * settings.clip);
  double inverse_sq = 0.0;  // sum_b (clip_b / std_b)^2: squared sensitivity in noise units
  for (size_t b = 0; b < settings.clip_blocks.size(); ++b) {
    const double sigma =
        b < settings.block_noise_std_sum.size() ? settings.block_noise_std_sum[b] : 0.0;
    if (!(sigma > 0.0)) return 0.0;
    const double ratio = settings.clip_blocks[b].clip / sigma;
    inverse_sq += ratio * ratio;
  }
  return 1.0 / (k * std::sqrt(inverse_sq));
}

Subsampling QuerySubsampling(Sampling sampling, double q) {
  switch (sampling) {
    case Sampling::kPoisson:
      return Subsampling::kPoissonReplaceOne;
    case Sampling::kWithoutReplacement:
      return q >= 1.0 ? Subsampling::kNone : Subsampling::kWithoutReplacement;
    case Sampling::kWithReplacement:
      return q >= 1.0 ? Subsampling::kNone : Subsampling::kWithReplacement;
  }
  return Subsampling::kWithReplacement;
}

absl::Status GradientOracle::NextLocalReports(const Vector&, std::vector<Vector>*) {
  return absl::FailedPreconditionError(
      "this silo's gradient oracle has no local randomizer: per-record local reports come only "
      "from a shuffle-model silo (LocalReportOracle)");
}

absl::Status GradientOracle::NextNoisySum(const Vector&, SumShare*) {
  return absl::FailedPreconditionError(
      "this silo's gradient oracle makes no secure sum: it comes only from a secure-sum silo "
      "(SecureSumOracle)");
}

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
  if (settings_.clip_only) {
    Matrix per_record;
    source_.model->PerExampleGradients(w, Batch{source_.data, batch_}, &per_record);
    grad->setZero(w.size());
    for (Eigen::Index i = 0; i < per_record.rows(); ++i) {
      const double norm = per_record.row(i).norm();
      *grad += (norm > settings_.clip ? settings_.clip / norm : 1.0) * per_record.row(i).transpose();
    }
    *grad /= ExpectedBatch(source_, settings_);
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
      ledger_(ledger) {
  FEDSILO_CHECK(settings_.block_noise_std_sum.size() == settings_.clip_blocks.size(),
                "one noise std per clip block");
}

double DpGradientOracle::expected_batch_size() const { return ExpectedBatch(source_, settings_); }

DpEvent DpGradientOracle::event() const {
  DpEvent event;
  const double n = static_cast<double>(source_.rows.size());
  event.sampling_rate = std::min(1.0, settings_.batch_size / n);
  event.count = 1;
  // Replace-one (the silo's size is public). Poisson: z = std_sum / clip; otherwise
  // z = std_sum / (2 clip) (with replacement: no standard accountant; recorded as what it is).
  event.noise_multiplier = QueryNoiseMultiplier(settings_);
  event.subsampling = QuerySubsampling(settings_.sampling, event.sampling_rate);
  return event;
}

absl::Status DpGradientOracle::CheckBatchSize(int batch_size, const char* query) const {
  if (batch_size == settings_.batch_size) return absl::OkStatus();
  return absl::FailedPreconditionError(
      std::string("private ") + query + " of " + std::to_string(batch_size) +
      " records: the silo's noise is calibrated for batches of " +
      std::to_string(settings_.batch_size) + " (algorithm.batch_size)");
}

void DpGradientOracle::ClipAndSum(const Matrix& per_record, Vector* sum) const {
  if (settings_.clip_blocks.empty()) {
    ClipAndSumRows(per_record, settings_.clip, sum);
  } else {
    ClipBlocksAndSumRows(per_record, settings_.clip_blocks, sum);
  }
}

void DpGradientOracle::Privatize(Vector* clipped_sum) {
  // Noise is drawn here, inside the silo, and the ledger records it at the same moment. It is
  // drawn in chunks that stay in L1 and added, and the sum divided, in the same pass: a model of
  // 68,290 parameters is not streamed through memory three more times per step.
  constexpr Eigen::Index kChunk = 2048;
  double noise[kChunk];
  const double batch = expected_batch_size();
  Eigen::Index offset = 0;
  const auto privatize = [&](Eigen::Index size, double sigma) {
    for (Eigen::Index done = 0; done < size; done += kChunk) {
      const Eigen::Index len = std::min(kChunk, size - done);
      auto part = clipped_sum->segment(offset + done, len);
      if (sigma > 0.0) {
        noise_rng_->FillNormal(std::span<double>(noise, static_cast<size_t>(len)), sigma);
        part = (part.array() + Eigen::Map<const Eigen::ArrayXd>(noise, len)) / batch;
      } else {
        part /= batch;
      }
    }
    offset += size;
  };
  if (settings_.clip_blocks.empty()) {
    privatize(clipped_sum->size(), settings_.noise_std_sum);
  } else {
    for (size_t b = 0; b < settings_.clip_blocks.size(); ++b) {
      privatize(settings_.clip_blocks[b].size, settings_.block_noise_std_sum[b]);
    }
  }
  ledger_->Record(event());
}

absl::Status DpGradientOracle::Next(const Vector& w, Vector* grad) {
  return Next(w, settings_.batch_size, grad);
}

absl::Status DpGradientOracle::Next(const Vector& w, int batch_size, Vector* grad) {
  FEDSILO_RETURN_IF_ERROR(CheckBatchSize(batch_size, "gradient query"));
  SampleBatch(source_.rows, settings_.batch_size, settings_.sampling, *sampling_rng_, &batch_);
  if (batch_.empty()) {
    grad->setZero(w.size());
  } else if (settings_.clip_blocks.empty()) {
    source_.model->ClippedGradientSum(w, Batch{source_.data, batch_}, settings_.clip, grad);
  } else {
    source_.model->ClippedBlocksGradientSum(w, Batch{source_.data, batch_},
                                            settings_.clip_blocks, grad);
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
    // Each record contributes scale * (g_i(a) - g_i(b)), clipped as a gradient is (to `clip`
    // as a whole, or block by block): the same sensitivity, so the same noise and one event.
    const Batch batch{source_.data, batch_};
    Matrix at_a, at_b;
    source_.model->PerExampleGradients(a, batch, &at_a);
    source_.model->PerExampleGradients(b, batch, &at_b);
    at_a -= at_b;
    at_a *= scale;
    ClipAndSum(at_a, out);
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
