// Sweep: one experiment per point of a grid of config overrides, summarized in two tables.
//
// Axes are "key.path=v1,v2,..." (the values are --set values, so each must be a scalar: a list
// value cannot be swept). The grid is the Cartesian product of the axes, the first axis varying
// slowest. Point i runs in OUT/point_<i> (a normal run directory) with the base overrides plus its
// own. Every point's config is parsed and checked before the first run (an error names the
// point). Up to `jobs` points run at once (each with its share of the worker threads; a run's
// results do not depend on its thread count, so a parallel sweep gives the serial one's bytes).
// Points whose data section and seed agree load their data once (loaded_data_cache.h).
// The first failing point (in point order) stops the sweep with its error: no point is started
// after it, the running ones finish, and the tables keep every finished point.
//
// Output, in point order whatever order the points finish in:
//   OUT/sweep.csv          one row per finished point: the axis values, then rounds_completed,
//                          test_accuracy, test_loss, epsilon (inf when not private),
//                          test_error, dp_violation, eo_violation, eopp_violation (empty for runs
//                          that report no fairness metrics), and val_accuracy, val_loss (empty
//                          without data.validation);
//   OUT/sweep_summary.csv  the same metrics over the points that differ only in `seed`: the
//                          other axes, runs, then <metric>_mean and <metric>_std (sample standard
//                          deviation; empty for one run) of each metric;
//   OUT/sweep_points.txt   the grid: each point's assignments and a digest of its resolved config.
// OUT must be new or empty (FailedPrecondition otherwise), unless `resume`: then it must hold a
// sweep of the same grid (same sweep_points.txt, else FailedPrecondition naming the first point
// that differs); finished points (point_<i>/summary.json) are read, not rerun, and an unfinished
// point's folder is removed and the point run again.
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

struct SweepOptions {
  int jobs = 1;           // points run at once (>= 1)
  bool resume = false;    // continue a sweep of the same grid in out_dir
  bool progress = false;  // a line on stderr as each point finishes
};

// Runs the sweep into run_options.out_dir (required); each point's run gets run_options (with
// its own out_dir, and its share of the threads). Returns the path of sweep.csv.
absl::StatusOr<std::string> RunSweep(const std::string& config_path,
                                     const std::vector<std::string>& overrides,
                                     const std::vector<SweepAxis>& axes,
                                     const RunOptions& run_options,
                                     const SweepOptions& sweep_options = {});

}  // namespace fedsilo
