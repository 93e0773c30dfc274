/* parallel.c — the OpenMP thread count of the kernels (parallel.h). */
#include <omp.h>
#include "parallel.h"

void rt_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
}

int rt_get_threads(void) { return omp_get_max_threads(); }
