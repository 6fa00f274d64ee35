# gnuplot script: the msg/s bars of scripts/bench/screen as a PNG (horizontal bars, log scale).
#
#   gnuplot -e "data='target/bench-screen/screen-plot.dat'; out='docs/bench/screen.png'" scripts/bench/plot-screen.gp
#
# `data` is what screen.py --plot-data writes: tab-separated, one bar per line
#   label <TAB> msg/s <TAB> colour (1..5, the line types below)
# after a first line "# title <TAB> the plot's title". Bars are drawn top to bottom in file order.
# Another bench can plot the same way: its own small .gp reading its own data file.

if (!exists("data") || !exists("out")) {
    print "usage: gnuplot -e \"data='FILE'; out='PNG'\" plot-screen.gp"
    exit status 2
}
plot_title = system(sprintf("sed -n '1s/^# title\t//p' '%s'", data))
n = int(system(sprintf("grep -vc '^#' '%s'", data)))

set datafile separator "\t"
set terminal pngcairo size 1250,90 + 42 * n font "DejaVu Sans,10"
set output out
set title plot_title noenhanced
set linetype 1 lc rgb "#5b8fd0"   # printgate, to the 250
set linetype 2 lc rgb "#1f4e8c"   # printgate, mail -> reply
set linetype 3 lc rgb "#8c8c8c"   # a scanner alone
set linetype 4 lc rgb "#c0392b"   # the classic stack
set linetype 5 lc rgb "#d9a6a0"   # the classic stack's run, cross-check
set style fill solid 0.9 border rgb "#404040"
stats data using 2 nooutput
set logscale x
set xrange [1:STATS_max * 3]
set xlabel "messages per second (log scale; more is better)"
set grid xtics mxtics
set yrange [n - 0.5:-0.5]
set ytics nomirror noenhanced
set lmargin 56
set rmargin 8
unset key
plot data using (sqrt($2)):0:(1):2:($0 - 0.36):($0 + 0.36):3:ytic(1) with boxxyerror lc variable, \
     '' using 2:0:(sprintf(" %.1f", $2)) with labels left
