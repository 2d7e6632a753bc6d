set terminal pngcairo size 900,600 noenhanced font 'sans,11'
set output 'docs/figures/server_optimizers_mnist.png'
set datafile separator ','
set grid
set key below
set xlabel 'round'
set ylabel 'test_accuracy'
set title 'ISRL-DP FedAvg on MNIST, Dirichlet(0.1), eps 4: each server optimizer at its best step (3 seeds, mean +- std)'
$curve0 << EOD
10,0.6097,0.533204706,0.686195294
20,0.7201666667,0.672032964,0.7683003693
30,0.7729333333,0.7539348246,0.791931842
40,0.7828333333,0.7560541748,0.8096124919
50,0.8011,0.7737093082,0.8284906918
EOD
$curve1 << EOD
10,0.7121,0.7034970935,0.7207029065
20,0.8042333333,0.761479815,0.8469868517
30,0.8316333333,0.7972382271,0.8660284396
40,0.8537,0.8339285559,0.8734714441
50,0.8647,0.8538607196,0.8755392804
EOD
$curve2 << EOD
10,0.7201,0.7053745119,0.7348254881
20,0.816,0.7836809654,0.8483190346
30,0.8410333333,0.8172093258,0.8648573408
40,0.8571666667,0.845923743,0.8684095904
50,0.8691666667,0.865587095,0.8727462383
EOD
$curve3 << EOD
10,0.7196,0.7057378212,0.7334621788
20,0.8160666667,0.7854461942,0.8466871391
30,0.8414666667,0.8190273411,0.8639059923
40,0.8571666667,0.8461410903,0.868192243
50,0.8695666667,0.8667553799,0.8723779534
EOD
plot $curve0 using 1:3:4 with filledcurves fillcolor rgb '#1f77b4' fillstyle transparent solid 0.2 noborder notitle, \
     $curve0 using 1:2 with linespoints linecolor rgb '#1f77b4' linewidth 2 pointtype 7 pointsize 0.6 title 'algorithm.server_lr=1.0, algorithm.server_optimizer=sgd (3 runs)', \
     $curve1 using 1:3:4 with filledcurves fillcolor rgb '#d62728' fillstyle transparent solid 0.2 noborder notitle, \
     $curve1 using 1:2 with linespoints linecolor rgb '#d62728' linewidth 2 pointtype 7 pointsize 0.6 title 'algorithm.server_lr=1.0, algorithm.server_optimizer=momentum (3 runs)', \
     $curve2 using 1:3:4 with filledcurves fillcolor rgb '#2ca02c' fillstyle transparent solid 0.2 noborder notitle, \
     $curve2 using 1:2 with linespoints linecolor rgb '#2ca02c' linewidth 2 pointtype 7 pointsize 0.6 title 'algorithm.server_lr=0.03, algorithm.server_optimizer=adam (3 runs)', \
     $curve3 using 1:3:4 with filledcurves fillcolor rgb '#ff7f0e' fillstyle transparent solid 0.2 noborder notitle, \
     $curve3 using 1:2 with linespoints linecolor rgb '#ff7f0e' linewidth 2 pointtype 7 pointsize 0.6 title 'algorithm.server_lr=0.03, algorithm.server_optimizer=yogi (3 runs)'
