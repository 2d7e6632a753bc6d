// Sweep: one experiment per point of a grid of config overrides, summarized in one table.
//
// Axes are "key.path=v1,v2,..." (the values are --set values, so each must be a scalar: a list
// value cannot be swept). The grid is the Cartesian product of the axes, the first axis varying
// slowest. Point i runs in OUT/point_<i> (a normal run directory) with the base overrides plus its
// own; OUT/sweep.csv gets one row per point: the axis values, then rounds_completed,
// test_accuracy, test_loss, epsilon (inf when not private), and test_error, dp_violation,
// eo_violation, eopp_violation (empty for runs that report no fairness metrics). OUT must be new
// or empty (FailedPrecondition otherwise), and every point's config is parsed and checked before
// the first run (an error names the point). Points run one after another; the first failing point
// stops the sweep with its error (rows already written stay). Not reentrant with respect to its
// output directory.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/runtime/experiment.h"

namespace fedsilo {

struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

// "key=v1,v2" -> axis; InvalidArgument for a missing '=', an empty key or value, or a key given
// twice.
absl::StatusOr<std::vector<SweepAxis>> ParseSweepAxes(const std::vector<std::string>& specs);

// The Cartesian product of the axes as --set overrides, the first axis slowest.
std::vector<std::vector<std::string>> SweepPoints(const std::vector<SweepAxis>& axes);

// Runs the sweep into options.out_dir (required). Returns the path of sweep.csv.
absl::StatusOr<std::string> RunSweep(const std::string& config_path,
                                     const std::vector<std::string>& overrides,
                                     const std::vector<SweepAxis>& axes,
                                     const RunOptions& options);

}  // namespace fedsilo
