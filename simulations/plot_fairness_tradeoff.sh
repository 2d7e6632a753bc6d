#!/usr/bin/env bash
# Plots error against fairness violation from `fedsilo sweep` tables (sweep.csv), one curve per
# privacy level, as a PNG (gnuplot, Debian package gnuplot-nox; scripts/setup.sh installs it).
#
# Usage: simulations/plot_fairness_tradeoff.sh [-x COLUMN] [-y COLUMN] [-t TITLE] -o OUT.png \
#          SWEEP.csv [SWEEP.csv ...]
#   -x  the violation column on the x axis: dp_violation (default), eo_violation, eopp_violation
#       (any numeric column of the tables works)
#   -y  the column on the y axis (default test_error)
#   -t  the plot title
#   -o  the PNG to write
# Curves: a row whose `epsilon` column is inf (a non-private run) belongs to the curve "eps inf";
# other rows to the curve of their swept `privacy.epsilon` value (or of their accounted `epsilon`
# when privacy.epsilon was not swept). Rows that differ only in a swept `seed` are averaged; the
# other swept values of a point (e.g. fairness.lambda) label it, and order the points of a curve.
# Several tables may be given (e.g. a private sweep and a non-private one); each keeps its own
# columns. Rows without a value in the chosen columns (runs that report no fairness metrics) are
# skipped. Exit status: 0 on success, 2 for bad arguments or tables, 1 if gnuplot fails.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "plot_fairness_tradeoff: $*" >&2
  exit 2
}

x_column=dp_violation
y_column=test_error
title="Error against fairness violation"
out=""
while getopts "x:y:t:o:h" option; do
  case "$option" in
    x) x_column="$OPTARG" ;;
    y) y_column="$OPTARG" ;;
    t) title="$OPTARG" ;;
    o) out="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ -n "$out" ] || die "give the output PNG with -o OUT.png"
[ "$#" -ge 1 ] || die "give at least one sweep table (sweep.csv)"
command -v gnuplot >/dev/null 2>&1 ||
  die "gnuplot is not installed (apt-get install gnuplot-nox; scripts/setup.sh does it)"
for table in "$@"; do
  [ -r "$table" ] || die "cannot read $table"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One line per (curve, point): curve sort key, point sort key, curve name, mean x, mean y, label.
for table in "$@"; do
  awk -F, -v xcol="$x_column" -v ycol="$y_column" -v table="$table" -v axes_file="$work/axes.txt" '
    function fail(message) { print "plot_fairness_tradeoff: " table ": " message > "/dev/stderr"; failed = 1; exit 2 }
    NR == 1 {
      for (i = 1; i <= NF; ++i) column[$i] = i
      if (!(xcol in column)) fail("no column \"" xcol "\" (columns: " $0 ")")
      if (!(ycol in column)) fail("no column \"" ycol "\" (columns: " $0 ")")
      if (!("epsilon" in column) || !("rounds_completed" in column)) fail("not a fedsilo sweep table")
      axes = column["rounds_completed"] - 1   # swept keys come first
      seed_at = ("seed" in column) ? column["seed"] : 0
      eps_at = ("privacy.epsilon" in column) ? column["privacy.epsilon"] : 0
      names = ""
      for (i = 1; i <= axes; ++i) {
        if (i != seed_at && i != eps_at) names = names (names == "" ? "" : " ") $i
      }
      if (names != "") print names >> axes_file
      next
    }
    {
      x = $column[xcol]; y = $column[ycol]
      if (x == "" || y == "" || x == "nan" || y == "nan") next
      if ($column["epsilon"] == "inf") {
        curve = "inf"
      } else if (eps_at > 0) {
        curve = $eps_at
      } else {
        curve = sprintf("%.3g", $column["epsilon"])
      }
      label = ""
      for (i = 1; i <= axes; ++i) {
        if (i == seed_at || i == eps_at) continue
        label = label (label == "" ? "" : " ") $i
      }
      key = curve SUBSEP label
      if (!(key in n)) { order[++keys] = key; curve_of[key] = curve; label_of[key] = label }
      n[key]++; sx[key] += x; sy[key] += y
    }
    END {
      if (failed) exit 2
      for (k = 1; k <= keys; ++k) {
        key = order[k]
        split(label_of[key], first, " ")
        printf "%s\t%s\t%s\t%.6g\t%.6g\t%s\n", curve_of[key], (first[1] == "" ? k : first[1]),
               curve_of[key], sx[key] / n[key], sy[key] / n[key], label_of[key]
      }
    }' "$table" >>"$work/points.tsv" || exit 2
done
[ -s "$work/points.tsv" ] || die "no row of the tables has values in $x_column and $y_column"

# Curves in increasing epsilon (inf last: sort -g knows inf; curves whose names start with the
# same number, e.g. "1" and "1 (published)", kept apart by the name), points in increasing swept
# value.
sort -t "$(printf '\t')" -k1,1g -k1,1 -k2,2g "$work/points.tsv" >"$work/sorted.tsv"
curves=()
while IFS= read -r curve; do curves+=("$curve"); done < <(cut -f1 "$work/sorted.tsv" | uniq)
if [ -s "$work/axes.txt" ]; then
  title="$title\\n(points labelled by $(tr ' ' '\n' <"$work/axes.txt" | awk 'NF && !seen[$0]++' | paste -sd ' ' -))"
fi
plot=""
for i in "${!curves[@]}"; do
  curve="${curves[$i]}"
  awk -F '\t' -v c="$curve" '$1 == c { print $4, $5, "\"" $6 "\"" }' "$work/sorted.tsv" >"$work/curve_$i.dat"
  name="eps $curve"
  [ "$curve" = inf ] && name="eps inf (not private)"
  style="linetype $((i + 1)) linewidth 2"
  plot+="${plot:+, }'$work/curve_$i.dat' using 1:2 with linespoints $style title '$name'"
  plot+=", '' using 1:2:3 with labels offset char 0.6,0.6 font ',8' textcolor lt $((i + 1)) notitle"
done

if ! gnuplot >"$work/gnuplot.log" 2>&1 <<EOF; then
set terminal pngcairo size 900,640 noenhanced font 'sans,11'
set output '$out'
set title "${title//\"/\\\"}"
set xlabel '$x_column (test split)'
set ylabel '$y_column (test split)'
set key outside right top box
set grid
set linetype 1 linecolor rgb '#d62728' pointtype 7
set linetype 2 linecolor rgb '#1f77b4' pointtype 5
set linetype 3 linecolor rgb '#2ca02c' pointtype 9
set linetype 4 linecolor rgb '#000000' pointtype 13
set linetype 5 linecolor rgb '#9467bd' pointtype 11
set linetype 6 linecolor rgb '#8c564b' pointtype 15
set offsets graph 0.05, graph 0.08, graph 0.08, graph 0.05
plot $plot
EOF
  cat "$work/gnuplot.log" >&2
  echo "plot_fairness_tradeoff: gnuplot failed" >&2
  exit 1
fi
echo "plot_fairness_tradeoff: wrote $out (${#curves[@]} curves; x = $x_column, y = $y_column)"
