/* parallel.h — the OpenMP thread count used by the kernels. The BLAS backend's
 * own setting sits behind kernels/gemm.h (rt_gemm_set_threads); rt.set_threads
 * in Lua sets both. */
#ifndef RT_PARALLEL_H
#define RT_PARALLEL_H

void rt_set_threads(int n);   /* n <= 0: all cores */
int rt_get_threads(void);

#endif
