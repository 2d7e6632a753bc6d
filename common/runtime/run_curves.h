// Run curves: the training curves of several runs, grouped by what differs in their configs and
// averaged over seeds, and drawn with gnuplot (`fedsilo plot`).
//
// LoadCurves reads each run directory's config.yaml and metrics.csv (a sweep's folder, which has
// point_* run directories and no metrics.csv, stands for its points). Runs whose resolved configs
// differ only in `seed` (and output.*) form one curve; its label names the config values that set
// it apart from the other curves ("algorithm.lr=0.1, privacy.epsilon=2"), or the algorithm when
// nothing does. Rows are matched by round: at each round a curve's x is the mean of the x column
// over its runs and y the mean of the y column, with a band of one sample standard deviation or a
// 95% confidence interval (Student's t with runs - 1 degrees of freedom); one run gives no band.
// With `x_key` (a numeric config key, e.g. privacy.epsilon) each run is one point instead: x its
// value of that key, y the last finite y of its metrics.csv (the final evaluation); the runs of a
// curve are matched by x, and the key never sets curves apart (test error against epsilon).
// `curve_by` names the keys that set curves apart when the default (every differing key) would
// split what belongs together (e.g. a step size chosen per epsilon). A y column "<name>_error"
// that metrics.csv lacks is 1 - "<name>_accuracy" (test_error: the papers' axis).
// Non-finite y values are left out (a curve left with none is an error). Errors name the run
// and the problem: a missing file or column (with the columns there are), a malformed number.
//
// PlotCurves writes OUT (PNG or SVG, by its extension; gnuplot's pngcairo or svg terminal), the
// plotted numbers beside it as OUT minus extension + ".csv" (label, x, y, low, high, runs) and the
// gnuplot script as ".gp", so a figure can be checked and redrawn. A gnuplot that fails (or is
// missing) is Unavailable, with its output.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

enum class CurveBand { kNone, kStd, kCi95 };

struct CurveOptions {
  std::string x = "round";          // a metrics.csv column
  std::string y = "test_accuracy";  // a metrics.csv column
  CurveBand band = CurveBand::kStd;
  // "key=value" filters (config keys as in config.yaml, e.g. algorithm.server_lr=0.03): only runs
  // that match every one are plotted. A filter no run matches is an error.
  std::vector<std::string> where;
  std::string x_key;                  // "" = x is the column `x`
  std::vector<std::string> curve_by;  // "" = every key whose value differs (seed, output.* aside)
};

struct CurvePoint {
  int round = 0;      // with x_key: the largest last round of the point's runs
  double x = 0.0;
  double y = 0.0;     // mean over the runs that have this round
  double low = 0.0;   // the band (low == high == y without one)
  double high = 0.0;
  int runs = 0;
};

struct Curve {
  std::string label;
  std::vector<std::string> run_dirs;
  std::vector<CurvePoint> points;  // by round
};

absl::StatusOr<std::vector<Curve>> LoadCurves(const std::vector<std::string>& dirs,
                                              const CurveOptions& options);

struct PlotOptions {
  std::string out;           // FILE.png or FILE.svg
  std::string title;         // "" = none
  std::string x_label;       // "" = the x column's name
  std::string y_label;       // "" = the y column's name
  int width = 900;
  int height = 600;
  bool log_x = false;
  // Horizontal reference lines, "label=y" (e.g. a non-private baseline's final error).
  std::vector<std::string> references;
};

absl::Status PlotCurves(const std::vector<Curve>& curves, const PlotOptions& options);

// The 97.5% quantile of Student's t with `degrees` degrees of freedom (1.96 beyond 30).
double StudentT975(int degrees);

}  // namespace fedsilo
