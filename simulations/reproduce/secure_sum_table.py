#!/usr/bin/env python3
"""Reshape secure_sum.sh's table.md (one row per sweep and epsilon) into one Markdown table per
epsilon: test error (mean ± std over seeds, and the clip chosen on validation) of non-private,
central DP, the secure sum, ISRL-DP and the per-record shuffle protocol, one row per M.

Usage: secure_sum_table.py OUT/table.md.  Standard library only.
"""
import sys

ALGORITHMS = [("minibatch_sgd", "non-private"),
              ("central_dp_minibatch_sgd", "central DP (trusted server)"),
              ("sdp_sum_minibatch_sgd", "secure sum"),
              ("isrl_dp_minibatch_sgd", "ISRL-DP"),
              ("sdp_minibatch_sgd", "per-record shuffle")]


def main():
    cells = {}
    silos, epsilons = set(), []
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.startswith("| ") or line.startswith("| sweep"):
                continue
            sweep, eps, clip, _, _, err = [c.strip() for c in line.strip().strip("|").split("|")]
            algorithm, m = sweep.rsplit("_M", 1)
            silos.add(int(m))
            if eps != "-" and eps not in epsilons:
                epsilons.append(eps)
            cells[(algorithm, int(m), eps)] = err if eps == "-" else f"{err} (clip {clip.split()[0]})"
    for eps in epsilons:
        print(f"\nepsilon {eps}:\n")
        print("| M | " + " | ".join(name for _, name in ALGORITHMS) + " |")
        print("|---" * (len(ALGORITHMS) + 1) + "|")
        for m in sorted(silos):
            row = [cells.get((a, m, "-" if a == "minibatch_sgd" else eps), "") for a, _ in ALGORITHMS]
            print(f"| {m} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
