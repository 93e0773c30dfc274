/* parallel.c — one thread count for OpenMP kernels and OpenBLAS (parallel.h). */
#include <omp.h>
#include "parallel.h"

void openblas_set_num_threads(int n);   /* from libopenblas (OpenMP build) */

void rt_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int rt_get_threads(void) { return omp_get_max_threads(); }
