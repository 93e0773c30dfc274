/* parallel.h — one thread setting for OpenMP kernels and OpenBLAS (OpenMP build). */
#ifndef RT_PARALLEL_H
#define RT_PARALLEL_H

void rt_set_threads(int n);   /* n <= 0: all cores */
int rt_get_threads(void);

#endif
