/* mpi.c — dist.h on MPI (the MPI build only: `make MPI=1` compiles this file with
 * mpicc instead of single.c). Written against the MPI-3 standard alone, so it builds
 * with Open MPI and MPICH alike.
 *
 * Start: lazily, on the first dist call, when a launcher started the process (see
 * dist.h). End: an on_exit handler finalizes after a normal exit (status 0); after a
 * failed exit (status != 0) on any rank it prints the rank and calls MPI_Abort, so
 * the other ranks end too instead of waiting in a collective forever. A rank killed
 * by a signal is noticed by the launcher (mpirun/mpiexec), which ends the job. */
#include <mpi.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dist.h"
#include "../core/sys.h"

static int g_started;        /* MPI_Init_thread ran here */
static int g_rank = 0, g_size = 1, g_local = 1;
static int g_aborting;
static rt_dist_stats g_stats;
static float *g_fusion;      /* the fusion buffer (grown on demand, freed at exit) */
static size_t g_fusion_cap;  /* in floats */
static char g_lib[MPI_MAX_LIBRARY_VERSION_STRING];

#define CHUNK ((size_t)1 << 30)   /* elements per MPI call: counts are int */

bool rt_dist_compiled(void) { return true; }

const char *rt_dist_library(void) {
    if (!g_lib[0]) {
        int len = 0;
        MPI_Get_library_version(g_lib, &len);   /* callable before MPI_Init */
        char *nl = strchr(g_lib, '\n');
        if (nl) *nl = 0;
    }
    return g_lib;
}

static int launched(void) {
    const char *force = getenv("RETORT_MPI");
    if (force && *force) return strcmp(force, "0") != 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") ||
           getenv("PMI_RANK");
}

static void at_exit(int status, void *arg) {
    (void)arg;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!g_started || fin || g_aborting) return;
    if (status != 0 && g_size > 1) {
        g_aborting = 1;
        fflush(stdout);
        fprintf(stderr, "retort: rank %d/%d exited with status %d; ending every rank\n", g_rank, g_size, status);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    free(g_fusion);
    g_fusion = NULL;
    MPI_Finalize();
}

rt_status rt_dist_init(void) {
    if (g_started) return RT_OK;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        if (!launched()) return RT_OK;
        int provided = 0;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return rt_errorf(RT_ESTATE, "dist: MPI_Init_thread failed");
        on_exit(at_exit, NULL);
    }
    g_started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &g_local);
        MPI_Comm_free(&node);
    }
    return RT_OK;
}

int rt_dist_rank(void) { rt_dist_init(); return g_rank; }
int rt_dist_size(void) { rt_dist_init(); return g_size; }
int rt_dist_local_size(void) { rt_dist_init(); return g_local; }

static MPI_Op mpi_op(rt_dist_op op) {
    switch (op) {
    case RT_DIST_MIN: return MPI_MIN;
    case RT_DIST_MAX: return MPI_MAX;
    default: return MPI_SUM;
    }
}

/* in-place allreduce of n elements, in chunks of at most CHUNK */
static rt_status reduce_raw(void *x, size_t n, MPI_Datatype ty, size_t esize, rt_dist_op op) {
    if (rt_dist_init()) return rt_last_status();
    if (g_size == 1 || n == 0) return RT_OK;
    double t0 = rt_now();
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t m = n - off < CHUNK ? n - off : CHUNK;
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)x + off * esize, (int)m, ty, mpi_op(op), MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return rt_errorf(RT_ESTATE, "dist.allreduce: MPI_Allreduce failed on rank %d", g_rank);
        g_stats.calls += 1;
    }
    g_stats.bytes += (double)n * (double)esize;
    g_stats.seconds += rt_now() - t0;
    return RT_OK;
}

rt_status rt_dist_allreduce_f32(float *x, size_t n, rt_dist_op op) {
    rt_status st = reduce_raw(x, n, MPI_FLOAT, sizeof(float), op);
    if (st || op != RT_DIST_MEAN || g_size == 1) return st;
    float s = (float)g_size;
    for (size_t i = 0; i < n; i++) x[i] /= s;
    return RT_OK;
}

rt_status rt_dist_allreduce_f64(double *x, size_t n, rt_dist_op op) {
    rt_status st = reduce_raw(x, n, MPI_DOUBLE, sizeof(double), op);
    if (st || op != RT_DIST_MEAN || g_size == 1) return st;
    for (size_t i = 0; i < n; i++) x[i] /= (double)g_size;
    return RT_OK;
}

/* reduce the bucket bufs[a, b) (total floats): a single buffer in place, several packed
 * into the fusion buffer and copied back */
static rt_status flush_bucket(float *const *bufs, const size_t *lens, size_t a, size_t b, size_t total,
                              rt_dist_op op) {
    if (a == b) return RT_OK;
    if (b - a == 1) return rt_dist_allreduce_f32(bufs[a], lens[a], op);
    size_t off = 0;
    for (size_t i = a; i < b; i++) {
        memcpy(g_fusion + off, bufs[i], lens[i] * sizeof(float));
        off += lens[i];
    }
    rt_status st = rt_dist_allreduce_f32(g_fusion, total, op);
    if (st) return st;
    off = 0;
    for (size_t i = a; i < b; i++) {
        memcpy(bufs[i], g_fusion + off, lens[i] * sizeof(float));
        off += lens[i];
    }
    return RT_OK;
}

rt_status rt_dist_allreduce_fused(float *const *bufs, const size_t *lens, size_t k, rt_dist_op op,
                                  size_t bucket_bytes) {
    if (rt_dist_init()) return rt_last_status();
    if (g_size == 1 || k == 0) return RT_OK;
    size_t cap = bucket_bytes / sizeof(float);
    if (cap < 1024) cap = 1024;
    size_t want = 0;   /* the largest bucket actually needed */
    for (size_t i = 0; i < k; i++) want += lens[i] <= cap ? lens[i] : 0;
    if (want > cap) want = cap;
    if (want > g_fusion_cap) {
        float *nb = realloc(g_fusion, want * sizeof(float));
        if (!nb) return rt_errorf(RT_ENOMEM, "dist.allreduce: fusion buffer of %zu bytes", want * sizeof(float));
        g_fusion = nb;
        g_fusion_cap = want;
    }
    size_t first = 0, used = 0;
    for (size_t i = 0; i < k; i++) {
        if (lens[i] > cap) {   /* larger than a bucket: on its own, in place */
            rt_status st = flush_bucket(bufs, lens, first, i, used, op);
            if (st) return st;
            if ((st = rt_dist_allreduce_f32(bufs[i], lens[i], op))) return st;
            first = i + 1, used = 0;
            continue;
        }
        if (used + lens[i] > cap) {
            rt_status st = flush_bucket(bufs, lens, first, i, used, op);
            if (st) return st;
            first = i, used = 0;
        }
        used += lens[i];
    }
    return flush_bucket(bufs, lens, first, k, used, op);
}

rt_status rt_dist_broadcast(void *buf, size_t nbytes, int root) {
    if (rt_dist_init()) return rt_last_status();
    if (root < 0 || root >= g_size)
        return rt_errorf(RT_EINVAL, "dist.broadcast: root %d out of range for %d processes", root, g_size);
    if (g_size == 1 || nbytes == 0) return RT_OK;
    double t0 = rt_now();
    for (size_t off = 0; off < nbytes; off += CHUNK) {
        size_t m = nbytes - off < CHUNK ? nbytes - off : CHUNK;
        if (MPI_Bcast((char *)buf + off, (int)m, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS)
            return rt_errorf(RT_ESTATE, "dist.broadcast: MPI_Bcast failed on rank %d", g_rank);
        g_stats.calls += 1;
    }
    g_stats.bytes += (double)nbytes;
    g_stats.seconds += rt_now() - t0;
    return RT_OK;
}

rt_status rt_dist_allgather_f64(const double *x, size_t n, double *out) {
    if (rt_dist_init()) return rt_last_status();
    if (g_size == 1) { memmove(out, x, n * sizeof(double)); return RT_OK; }
    if (n > (size_t)INT_MAX) return rt_errorf(RT_EINVAL, "dist.allgather: %zu values is too many", n);
    double t0 = rt_now();
    if (MPI_Allgather(x, (int)n, MPI_DOUBLE, out, (int)n, MPI_DOUBLE, MPI_COMM_WORLD) != MPI_SUCCESS)
        return rt_errorf(RT_ESTATE, "dist.allgather: MPI_Allgather failed on rank %d", g_rank);
    g_stats.calls += 1;
    g_stats.bytes += (double)n * sizeof(double);
    g_stats.seconds += rt_now() - t0;
    return RT_OK;
}

rt_status rt_dist_barrier(void) {
    if (rt_dist_init()) return rt_last_status();
    if (g_size == 1) return RT_OK;
    if (MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS)
        return rt_errorf(RT_ESTATE, "dist.barrier: MPI_Barrier failed on rank %d", g_rank);
    return RT_OK;
}

void rt_dist_abort(const char *msg, int code) {
    fflush(stdout);
    if (g_started && g_size > 1) {
        if (msg && *msg) fprintf(stderr, "retort: rank %d/%d: %s\n", g_rank, g_size, msg);
        fflush(stderr);
        g_aborting = 1;
        MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
    }
    if (msg && *msg) fprintf(stderr, "retort: %s\n", msg);
    fflush(stderr);
    exit(code);
}

rt_dist_stats rt_dist_get_stats(void) { return g_stats; }
void rt_dist_reset_stats(void) { memset(&g_stats, 0, sizeof g_stats); }
