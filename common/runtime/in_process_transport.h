// InProcessTransport: thread mode. Delivers each task to its SiloRuntime on a thread pool and
// returns the replies in ascending silo id (never completion order), failures beside them.
//
// Borrows the silos and the pool; both must outlive it. Train() is called from one thread.
#pragma once

#include <vector>

#include "common/base/thread_pool.h"
#include "common/runtime/silo_runtime.h"
#include "common/transport/transport.h"

namespace fedsilo {

class InProcessTransport : public Transport {
 public:
  InProcessTransport(std::vector<SiloRuntime*> silos, ThreadPool* pool);
  RoundResults Train(const std::vector<SiloTask>& tasks) override;
  int num_silos() const override { return static_cast<int>(silos_.size()); }
  std::vector<SiloPrivacyReport> PrivacyReports() const override;

 private:
  std::vector<SiloRuntime*> silos_;
  ThreadPool* pool_;
};

}  // namespace fedsilo
