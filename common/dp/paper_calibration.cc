#include "common/dp/paper_calibration.h"

#include <cmath>

namespace fedsilo {

double PaperIsrlDpSigma(double clip, int64_t queries, double n, double epsilon, double delta) {
  return std::sqrt(8.0 * clip * clip * static_cast<double>(queries) * std::log(1.0 / delta)) /
         (n * epsilon);
}

}  // namespace fedsilo
