#!/usr/bin/env python3
"""Choose a hyperparameter on the validation split, report the test metric at that choice.

For each sweep folder (written by `fedsilo sweep` with data.validation > 0) and each value of the
--by keys (e.g. privacy.epsilon), the value of the --tune key (e.g. algorithm.lr) whose runs have
the best mean validation accuracy over seeds is chosen; the test error of those runs (mean and
sample standard deviation over seeds) is what is reported. Test numbers never take part in the
choice. Prints a Markdown table; --runs FILE lists the chosen runs' folders (for `fedsilo plot`),
--references FILE the test error of sweeps without the --by keys (reference lines).

Usage: select_on_validation.py --tune algorithm.lr [--by privacy.epsilon] [--runs FILE] SWEEP...
Standard library only.
"""
import argparse
import csv
import math
import os
import sys


def read_points(sweep):
    """point folder -> {key: value} of its assignments, from sweep_points.txt."""
    points = {}
    with open(os.path.join(sweep, "sweep_points.txt")) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 2:
                continue
            points[fields[0]] = dict(item.split("=", 1) for item in fields[2:])
    return points


def mean_std(values):
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else float("nan")
    return mean, std


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tune", required=True, help="the key chosen on validation")
    parser.add_argument("--by", action="append", default=[], help="a key chosen for separately")
    parser.add_argument("--runs", help="write the chosen runs' folders here, one per line")
    parser.add_argument("--references", help="write 'sweep=test error' here for each "
                        "sweep without the --by keys (e.g. the non-private runs), one per line")
    parser.add_argument("sweeps", nargs="+")
    args = parser.parse_args()

    rows_out, chosen_dirs = [], []
    for sweep in args.sweeps:
        points = read_points(sweep)
        # (by values) -> tuned value -> list of (point dir, val accuracy, test accuracy)
        groups = {}
        with open(os.path.join(sweep, "sweep.csv")) as f:
            for row in csv.DictReader(f):
                assignments = {k: row[k] for k in row if k in next(iter(points.values()))}
                name = next(p for p, a in points.items() if a == assignments)
                if not row["val_accuracy"]:
                    sys.exit(f"{sweep}: {name} has no validation accuracy (set data.validation)")
                by = tuple(row.get(k, "-") for k in args.by)
                tuned = row.get(args.tune, "-")
                groups.setdefault(by, {}).setdefault(tuned, []).append(
                    (os.path.join(sweep, name), float(row["val_accuracy"]),
                     float(row["test_accuracy"])))
        for by, candidates in groups.items():
            best = max(candidates, key=lambda t: mean_std([r[1] for r in candidates[t]])[0])
            runs = candidates[best]
            val, _ = mean_std([r[1] for r in runs])
            err, err_std = mean_std([1.0 - r[2] for r in runs])
            rows_out.append((os.path.basename(os.path.normpath(sweep)), by, best, len(runs), val,
                             err, err_std, len(candidates)))
            chosen_dirs += [r[0] for r in runs]

    by_header = "".join(f" {k} |" for k in args.by)
    print(f"| sweep |{by_header} {args.tune} (of) | runs | validation accuracy | "
          "test error (mean ± std) |")
    print("|---|" + "---|" * len(args.by) + "---|---|---|---|")
    for sweep, by, best, n, val, err, err_std, count in rows_out:
        by_cells = "".join(f" {v} |" for v in by)
        print(f"| {sweep} |{by_cells} {best} (of {count}) | {n} | {val:.4f} | "
              f"{err:.4f} ± {err_std:.4f} |")
    if args.runs:
        with open(args.runs, "w") as f:
            f.write("\n".join(chosen_dirs) + "\n")
    if args.references:
        with open(args.references, "w") as f:
            for sweep, by, _, _, _, err, _, _ in rows_out:
                if all(v == "-" for v in by):
                    f.write(f"{sweep}={err:.4f}\n")


if __name__ == "__main__":
    main()
