// SiloFactory: builds one silo's SiloRuntime the way every mode does, so a silo process serving
// shard I and thread mode's silo I are the same silo, bit for bit: the same records, the same
// privacy plan (planned by the silo from its own record count), the same program and the same
// private seed (DeriveSeed(seed, "silo-private", I), or OS entropy with privacy.secure_noise or
// set_secret_noise(true), which a silo process sets unless it was started with
// --reproducible-noise).
//
// Borrows the PreparedExperiment (model, training data), which must outlive the runtimes. Plans
// are cached by record count (silos of equal size plan alike; calibration costs milliseconds).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/algorithms/silo_program.h"
#include "common/base/status.h"
#include "common/runtime/experiment.h"
#include "common/runtime/silo_privacy.h"
#include "common/runtime/silo_runtime.h"

namespace fedsilo {

class SiloFactory {
 public:
  explicit SiloFactory(const PreparedExperiment& experiment);

  // Silo `silo_id` over `train_rows` of experiment.data().train. When the algorithm has a silo
  // setup (e.g. FERMI's per-silo marginals), the caller runs SiloRuntime::Setup() before the first
  // task (after Restore() when it restores a journal).
  absl::StatusOr<std::unique_ptr<SiloRuntime>> Make(int silo_id, std::vector<int> train_rows);
  // Silo processes keep their last answer to re-send it (SiloRuntimeOptions::keep_last_answer).
  void set_keep_last_answer(bool keep) { keep_last_answer_ = keep; }
  // Shuffle mode: silos seal every report for this coordinator key (SiloRuntimeOptions::seal_for)
  // and send weight 1, since a silo's record count, opened by the coordinator, could name it.
  void set_seal_for(const ReportPublicKey& key) { seal_for_ = key; }
  // true: every silo seeds its batches and noise from OS entropy; false: from the run's seed
  // (reproducible, and recomputable by anyone with the config). Default: privacy.secure_noise.
  void set_secret_noise(bool secret) { secret_noise_ = secret; }

 private:
  const PreparedExperiment& experiment_;
  std::shared_ptr<const SiloProgram> program_;
  std::shared_ptr<const SiloSetup> setup_;  // the algorithm's silo setup, or nullptr
  PrivacyExtras extras_;
  std::map<int64_t, SiloPrivacyPlan> plans_;  // by record count
  bool keep_last_answer_ = false;
  std::optional<ReportPublicKey> seal_for_;
  bool secret_noise_;
};

}  // namespace fedsilo
