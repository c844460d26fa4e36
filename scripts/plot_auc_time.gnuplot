# Test AUC against training time (left) and against training samples (right) for
# sparsetrain sparse, sparsetrain dense and PyTorch dense, from the curve_*.dat files
# that scripts/bench/report.py writes. Called by scripts/bench_all.sh:
#   gnuplot -e "dir='OUT'; out='PNG'; best_auc=0.80; target_auc=0.76" scripts/plot_auc_time.gnuplot
if (!exists("dir")) dir = "."
if (!exists("out")) out = "auc_vs_time.png"
if (!exists("best_auc")) best_auc = NaN
if (!exists("target_auc")) target_auc = NaN

set terminal pngcairo size 1400,560 font "DejaVu Sans,11"
set output out
set multiplot layout 1,2 title sprintf("Test AUC during training, 1 thread each (best reachable AUC on this test set: %.4f)", best_auc)

# y range: from a little below the second evaluation of any system to a little above the best
# point (curve files start with a (0, 0.5) origin line, then one line per evaluation).
ymin = 1; ymax = 0
do for [name in "sparse tuned dense torch"] {
  file = dir."/curve_".name.".dat"
  if (system("awk 'END{print NR}' ".file." 2>/dev/null") + 0 >= 4) {
    stats file using 4 every ::2 nooutput name "C"
    if (C_max > ymax) { ymax = C_max }
    if (C_min < ymin) { ymin = C_min }
  }
}
if (ymin > ymax) { ymin = 0.5; ymax = 1 }
if (target_auc == target_auc && target_auc < ymin) { ymin = target_auc }
set yrange [ymin - 0.01 : ymax + 0.005]
set ylabel "test AUC"
set grid
set key below horizontal
set style line 1 lc rgb "#d62728" lw 2 pt 7 ps 1.1
set style line 2 lc rgb "#1f77b4" lw 2 pt 5 ps 1.1
set style line 3 lc rgb "#2ca02c" lw 2 pt 9 ps 1.3
set style line 4 lc rgb "#555555" lw 1 dt 2
set style line 5 lc rgb "#ff7f0e" lw 2 dt 3 pt 13 ps 1.1

set xlabel "training time, wall seconds (evaluation excluded)"
set xrange [0:*]
plot dir."/curve_sparse.dat" using 1:4 every ::1 with linespoints ls 1 title "sparsetrain SLIDE-style sparse (0.05, 16x6)", \
     dir."/curve_tuned.dat"  using 1:4 every ::1 with linespoints ls 5 title "sparsetrain default sparse (0.03, 4x5)", \
     dir."/curve_dense.dat"  using 1:4 every ::1 with linespoints ls 2 title "sparsetrain dense", \
     dir."/curve_torch.dat"  using 1:4 every ::1 with linespoints ls 3 title "PyTorch dense", \
     target_auc with lines ls 4 title sprintf("target AUC %.3f", target_auc)

set xlabel "training samples (millions)"
plot dir."/curve_sparse.dat" using ($3/1e6):4 every ::1 with linespoints ls 1 title "sparsetrain SLIDE-style sparse (0.05, 16x6)", \
     dir."/curve_tuned.dat"  using ($3/1e6):4 every ::1 with linespoints ls 5 title "sparsetrain default sparse (0.03, 4x5)", \
     dir."/curve_dense.dat"  using ($3/1e6):4 every ::1 with linespoints ls 2 title "sparsetrain dense", \
     dir."/curve_torch.dat"  using ($3/1e6):4 every ::1 with linespoints ls 3 title "PyTorch dense", \
     target_auc with lines ls 4 title sprintf("target AUC %.3f", target_auc)
unset multiplot
