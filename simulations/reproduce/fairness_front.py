#!/usr/bin/env python3
"""Trace an error / fairness-violation trade-off on the validation split, report it on test.

For each sweep folder (written by `fedsilo sweep` with data.validation > 0) the runs are grouped
by every swept key but `seed`, and the groups by curve (their privacy.epsilon; a sweep without it
is the curve of its accounted epsilon, "inf" when not private). Within a curve a group is kept
when no other group has both a lower-or-equal mean validation error and a lower-or-equal mean
validation violation, one of them strictly (the validation Pareto front). For the kept groups the
test error and test violation (mean and sample standard deviation over seeds) are reported: test
numbers never take part in the choice. Prints a Markdown table; --chosen DIR writes, per sweep,
DIR/<sweep name>.csv: the kept groups' rows of its sweep.csv (every seed), for
simulations/plot_fairness_tradeoff.sh.

Usage: fairness_front.py [--violation dp_violation] [--chosen DIR] SWEEP...
Standard library only.
"""
import argparse
import csv
import os
import sys

from select_on_validation import mean_std  # the same folder's: mean and sample std


def number(text):
    return float(text) if text not in ("", "nan") else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--violation", default="dp_violation",
                        help="dp_violation (default), eo_violation or eopp_violation")
    parser.add_argument("--chosen", help="write each sweep's kept rows to DIR/<sweep name>.csv")
    parser.add_argument("sweeps", nargs="+")
    args = parser.parse_args()
    violation, val_violation = args.violation, "val_" + args.violation

    print(f"| sweep | curve | settings | seeds | val error | val {violation} | "
          f"test error | test {violation} |")
    print("|---|---|---|---|---|---|---|---|")
    for sweep in args.sweeps:
        name = os.path.basename(os.path.normpath(sweep))
        with open(os.path.join(sweep, "sweep.csv")) as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames
            rows = list(reader)
        axes = header[:header.index("rounds_completed")]
        settings_keys = [k for k in axes if k not in ("seed", "privacy.epsilon")]
        groups = {}  # (curve, settings) -> rows
        for row in rows:
            if not row["val_accuracy"] or not row.get(val_violation):
                sys.exit(f"{sweep}: a run has no validation error or {val_violation} "
                         "(set data.validation, and run a fairness algorithm)")
            if "privacy.epsilon" in row:
                curve = row["privacy.epsilon"]
            else:
                curve = "inf" if row["epsilon"] == "inf" else f"{number(row['epsilon']):.3g}"
            settings = tuple(row[k] for k in settings_keys)
            groups.setdefault((curve, settings), []).append(row)
        summary = {}
        for key, members in groups.items():
            summary[key] = {
                "val_error": mean_std([1.0 - number(r["val_accuracy"]) for r in members])[0],
                "val_violation": mean_std([number(r[val_violation]) for r in members])[0],
                "test_error": mean_std([number(r["test_error"]) for r in members]),
                "test_violation": mean_std([number(r[violation]) for r in members]),
                "seeds": len(members),
            }
        kept = []
        for key, s in summary.items():
            dominated = any(
                other[0] == key[0] and o["val_error"] <= s["val_error"] and
                o["val_violation"] <= s["val_violation"] and
                (o["val_error"] < s["val_error"] or o["val_violation"] < s["val_violation"])
                for other, o in summary.items())
            if not dominated:
                kept.append(key)

        def curve_order(key):
            curve = key[0]
            return (float("inf") if curve == "inf" else number(curve),
                    -summary[key]["val_violation"])

        kept.sort(key=curve_order)
        for key in kept:
            s = summary[key]
            settings = " ".join(f"{k}={v}" for k, v in zip(settings_keys, key[1])) or "-"
            print(f"| {name} | {key[0]} | {settings} | {s['seeds']} | {s['val_error']:.4f} | "
                  f"{s['val_violation']:.4f} | {s['test_error'][0]:.4f} ± "
                  f"{s['test_error'][1]:.4f} | {s['test_violation'][0]:.4f} ± "
                  f"{s['test_violation'][1]:.4f} |")
        if args.chosen:
            os.makedirs(args.chosen, exist_ok=True)
            with open(os.path.join(args.chosen, name + ".csv"), "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
                writer.writeheader()
                for key in kept:
                    writer.writerows(groups[key])


if __name__ == "__main__":
    main()
