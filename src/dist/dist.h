/* dist.h — data parallelism across processes. Two implementations behind one API:
 * mpi.c (the MPI build, `make MPI=1`, Open MPI or MPICH through mpicc) and single.c
 * (the default build: one process, rank 0 of 1, every collective a no-op).
 *
 * MPI starts lazily on the first call, and only when the process was started by an
 * MPI launcher (mpirun/mpiexec set OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK) or
 * RETORT_MPI=1 asks for it; RETORT_MPI=0 keeps a launched process single. Only the
 * main thread calls MPI (MPI_THREAD_FUNNELED; OpenMP threads never do). The library
 * finalizes at exit.
 *
 * Collectives act in place on host buffers; every rank must make the same calls in
 * the same order with the same lengths (a mismatch is the caller's bug; the Trainer
 * checks models and configs with rt_dist_allreduce_f64 min/max before training). */
#ifndef RT_DIST_H
#define RT_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include "../core/status.h"

typedef enum { RT_DIST_SUM = 0, RT_DIST_MEAN, RT_DIST_MIN, RT_DIST_MAX } rt_dist_op;

/* Traffic counters since the start (or the last reset): collective calls, payload
 * bytes handed to MPI (per rank, before the algorithm's own copies) and the wall time
 * spent inside MPI collectives. */
typedef struct { double calls, bytes, seconds; } rt_dist_stats;

/* Whether this binary was built with MPI (true in mpi.c, false in single.c). */
bool rt_dist_compiled(void);
/* The MPI library's version line ("" without MPI). */
const char *rt_dist_library(void);
/* Start MPI if the process was launched by mpirun (idempotent). RT_OK when single. */
rt_status rt_dist_init(void);
/* This process's rank in [0, size) and the number of processes (0 and 1 when single). */
int rt_dist_rank(void);
int rt_dist_size(void);
/* The number of ranks on this machine (MPI_COMM_TYPE_SHARED; 1 when single). */
int rt_dist_local_size(void);
/* Allreduce n floats in place (MEAN = SUM / size, computed in f32). */
rt_status rt_dist_allreduce_f32(float *x, size_t n, rt_dist_op op);
/* Allreduce n doubles in place (metrics, hashes: integers below 2^53 are exact). */
rt_status rt_dist_allreduce_f64(double *x, size_t n, rt_dist_op op);
/* Tensor fusion: reduce k buffers (bufs[i] of lens[i] floats) through one fusion
 * buffer of at most bucket_bytes (buffers are packed in order; a buffer larger than
 * the bucket is reduced on its own, in place). One MPI call per bucket. */
rt_status rt_dist_allreduce_fused(float *const *bufs, const size_t *lens, size_t k, rt_dist_op op,
                                  size_t bucket_bytes);
/* Broadcast nbytes of buf from rank root to every rank. */
rt_status rt_dist_broadcast(void *buf, size_t nbytes, int root);
/* Gather n doubles from every rank into out[size * n] (rank r's at out[r * n]). */
rt_status rt_dist_allgather_f64(const double *x, size_t n, double *out);
/* Block until every rank arrives. */
rt_status rt_dist_barrier(void);
/* Print "retort: rank R/N: msg" to stderr and end every rank (MPI_Abort with code);
 * when single, just exit(code). Never returns. */
void rt_dist_abort(const char *msg, int code) __attribute__((noreturn));
/* Counters (see rt_dist_stats) and their reset. */
rt_dist_stats rt_dist_get_stats(void);
void rt_dist_reset_stats(void);

#endif
