/* single.c — the default build's dist: one process, rank 0 of 1. Every collective
 * leaves its buffer as it is (a sum, mean, min or max over one rank); the MPI build
 * compiles mpi.c instead. */
#include <stdio.h>
#include <stdlib.h>
#include "dist.h"

bool rt_dist_compiled(void) { return false; }
const char *rt_dist_library(void) { return ""; }
rt_status rt_dist_init(void) { return RT_OK; }
int rt_dist_rank(void) { return 0; }
int rt_dist_size(void) { return 1; }
int rt_dist_local_size(void) { return 1; }
rt_status rt_dist_allreduce_f32(float *x, size_t n, rt_dist_op op) { (void)x; (void)n; (void)op; return RT_OK; }
rt_status rt_dist_allreduce_f64(double *x, size_t n, rt_dist_op op) { (void)x; (void)n; (void)op; return RT_OK; }
rt_status rt_dist_allreduce_fused(float *const *bufs, const size_t *lens, size_t k, rt_dist_op op,
                                  size_t bucket_bytes) {
    (void)bufs; (void)lens; (void)k; (void)op; (void)bucket_bytes;
    return RT_OK;
}
rt_status rt_dist_broadcast(void *buf, size_t nbytes, int root) {
    (void)buf; (void)nbytes;
    if (root != 0) return rt_errorf(RT_EINVAL, "dist.broadcast: root %d out of range for 1 process", root);
    return RT_OK;
}
rt_status rt_dist_allgather_f64(const double *x, size_t n, double *out) {
    for (size_t i = 0; i < n; i++) out[i] = x[i];
    return RT_OK;
}
rt_status rt_dist_barrier(void) { return RT_OK; }
void rt_dist_abort(const char *msg, int code) {
    fflush(stdout);
    if (msg && *msg) fprintf(stderr, "retort: %s\n", msg);
    fflush(stderr);
    exit(code);
}
rt_dist_stats rt_dist_get_stats(void) { rt_dist_stats s = {0, 0, 0}; return s; }
void rt_dist_reset_stats(void) {}
