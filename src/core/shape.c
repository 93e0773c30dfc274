/* shape.c — broadcasting, dim coalescing and the strided copy/convert loop. */
#include <stdio.h>
#include <string.h>
#include "shape.h"

bool rt_broadcast_shapes(int na, const int64_t *sa, int nb, const int64_t *sb,
                         int *nout, int64_t *out) {
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int ia = na - n + i, ib = nb - n + i;
        int64_t a = ia >= 0 ? sa[ia] : 1, b = ib >= 0 ? sb[ib] : 1;
        if (a != b && a != 1 && b != 1) return false;
        out[i] = a == 1 ? b : a;
    }
    *nout = n;
    return true;
}

void rt_broadcast_strides(int ndim, const int64_t *shape, const int64_t *stride,
                          int ondim, const int64_t *oshape, int64_t *ostride) {
    for (int i = 0; i < ondim; i++) {
        int j = ndim - ondim + i;
        ostride[i] = (j >= 0 && shape[j] == oshape[i]) ? stride[j] : 0;
        if (j >= 0 && shape[j] == 1) ostride[i] = 0;
    }
}

int rt_coalesce(int ndim, int64_t *shape, int nops, int64_t (*strides)[RT_MAXDIM]) {
    int n = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 1) continue;
        if (n > 0) {
            bool ok = true;
            for (int k = 0; k < nops; k++)
                if (strides[k][n - 1] != strides[k][i] * shape[i]) { ok = false; break; }
            if (ok) {
                shape[n - 1] *= shape[i];
                for (int k = 0; k < nops; k++) strides[k][n - 1] = strides[k][i];
                continue;
            }
        }
        shape[n] = shape[i];
        for (int k = 0; k < nops; k++) strides[k][n] = strides[k][i];
        n++;
    }
    if (n == 0) {
        shape[0] = 1;
        for (int k = 0; k < nops; k++) strides[k][0] = 1;
        n = 1;
    }
    return n;
}

int64_t rt_shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

bool rt_shape_check(int ndim, const int64_t *shape, size_t elsize, int64_t *numel) {
    int64_t n = 1, span = (int64_t)(elsize ? elsize : 1);
    bool ok = true;
    for (int i = 0; i < ndim && ok; i++) {
        if (shape[i] < 0) ok = false;
        else if (__builtin_mul_overflow(n, shape[i], &n)) ok = false;
        else if (__builtin_mul_overflow(span, shape[i] > 0 ? shape[i] : 1, &span)) ok = false;
        else if (span > RT_MAX_TENSOR_BYTES) ok = false;
    }
    if (!ok) {
        char b[160];
        rt_errorf(RT_ESHAPE, "shape %s is too large", rt_shape_fmt(ndim, shape, b, sizeof b));
        return false;
    }
    if (numel) *numel = n;
    return true;
}

bool rt_view_check(int64_t offset, int ndim, const int64_t *shape, const int64_t *stride, int64_t limit) {
    char b[160];
    int64_t last = offset;
    bool empty = false, ok = offset >= 0;
    for (int i = 0; i < ndim; i++) if (shape[i] == 0) empty = true;
    for (int i = 0; i < ndim && ok && !empty; i++) {
        int64_t step;
        if (stride[i] < 0 || __builtin_mul_overflow(shape[i] - 1, stride[i], &step) ||
            __builtin_add_overflow(last, step, &last))
            ok = false;
    }
    if (ok && (empty ? offset <= limit : last < limit)) return true;
    rt_errorf(RT_ESHAPE, "view of shape %s at offset %lld reaches past its storage of %lld elements",
              rt_shape_fmt(ndim, shape, b, sizeof b), (long long)offset, (long long)limit);
    return false;
}

char *rt_shape_fmt(int ndim, const int64_t *shape, char *buf, size_t n) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n > o ? n - o : 0, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
    return buf;
}

static inline double load_d(const void *p, rt_dtype dt, int64_t i) {
    switch (dt) {
    case RT_F32: return ((const float *)p)[i];
    case RT_I32: return ((const int32_t *)p)[i];
    case RT_I64: return (double)((const int64_t *)p)[i];
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)p)[i]);
    case RT_BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return 0;
    }
}

static inline void store_d(void *p, rt_dtype dt, int64_t i, double v) {
    switch (dt) {
    case RT_F32: ((float *)p)[i] = (float)v; break;
    case RT_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case RT_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case RT_BF16: ((uint16_t *)p)[i] = rt_f32_to_bf16((float)v); break;
    case RT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: break;
    }
}

/* One row: n elements with strides ds/ss. */
static void copy_row(char *d, rt_dtype ddt, int64_t ds, const char *s, rt_dtype sdt, int64_t ss, int64_t n) {
    if (ddt == sdt) {
        size_t es = rt_dtype_size(ddt);
        if (ds == 1 && ss == 1) { memcpy(d, s, (size_t)n * es); return; }
        switch (es) {
        case 4: {
            uint32_t *D = (uint32_t *)d; const uint32_t *S = (const uint32_t *)s;
            for (int64_t i = 0; i < n; i++) D[i * ds] = S[i * ss];
            return;
        }
        case 8: {
            uint64_t *D = (uint64_t *)d; const uint64_t *S = (const uint64_t *)s;
            for (int64_t i = 0; i < n; i++) D[i * ds] = S[i * ss];
            return;
        }
        case 2: {
            uint16_t *D = (uint16_t *)d; const uint16_t *S = (const uint16_t *)s;
            for (int64_t i = 0; i < n; i++) D[i * ds] = S[i * ss];
            return;
        }
        default: for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss]; return;
        }
    }
    if (ddt == RT_F32 && sdt == RT_BF16 && ds == 1 && ss == 1) {
        float *restrict D = (float *)d;
        const uint16_t *S = (const uint16_t *)s;
        #pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            uint32_t u = (uint32_t)S[i] << 16;
            float f;
            memcpy(&f, &u, 4);
            D[i] = f;
        }
        return;
    }
    if (ddt == RT_BF16 && sdt == RT_F32 && ds == 1 && ss == 1) {
        uint16_t *restrict D = (uint16_t *)d;
        const float *S = (const float *)s;
        #pragma omp simd
        for (int64_t i = 0; i < n; i++) {   /* round to nearest even; NaN stays a quiet NaN */
            uint32_t u;
            memcpy(&u, &S[i], 4);
            uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
            uint32_t q = (u >> 16) | 0x40u;
            D[i] = (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? q : r);
        }
        return;
    }
    if (ddt == RT_F32 && sdt == RT_BF16) {
        float *D = (float *)d; const uint16_t *S = (const uint16_t *)s;
        for (int64_t i = 0; i < n; i++) D[i * ds] = rt_bf16_to_f32(S[i * ss]);
        return;
    }
    if (ddt == RT_BF16 && sdt == RT_F32) {
        uint16_t *D = (uint16_t *)d; const float *S = (const float *)s;
        for (int64_t i = 0; i < n; i++) D[i * ds] = rt_f32_to_bf16(S[i * ss]);
        return;
    }
    for (int64_t i = 0; i < n; i++) store_d(d, ddt, i * ds, load_d(s, sdt, i * ss));
}

#if defined(__AVX2__)
#include <immintrin.h>
/* D[r * dstride + c] = S[r + c * sstride] for an 8x8 block of 32-bit values */
static inline void transpose8x8(uint32_t *D, int64_t dstride, const uint32_t *S, int64_t sstride) {
    __m256 r[8], t[8];
    for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps((const float *)(S + k * sstride));   /* r[k][i] = S[i + k*ss] */
    t[0] = _mm256_unpacklo_ps(r[0], r[1]); t[1] = _mm256_unpackhi_ps(r[0], r[1]);
    t[2] = _mm256_unpacklo_ps(r[2], r[3]); t[3] = _mm256_unpackhi_ps(r[2], r[3]);
    t[4] = _mm256_unpacklo_ps(r[4], r[5]); t[5] = _mm256_unpackhi_ps(r[4], r[5]);
    t[6] = _mm256_unpacklo_ps(r[6], r[7]); t[7] = _mm256_unpackhi_ps(r[6], r[7]);
    r[0] = _mm256_shuffle_ps(t[0], t[2], 0x44); r[1] = _mm256_shuffle_ps(t[0], t[2], 0xEE);
    r[2] = _mm256_shuffle_ps(t[1], t[3], 0x44); r[3] = _mm256_shuffle_ps(t[1], t[3], 0xEE);
    r[4] = _mm256_shuffle_ps(t[4], t[6], 0x44); r[5] = _mm256_shuffle_ps(t[4], t[6], 0xEE);
    r[6] = _mm256_shuffle_ps(t[5], t[7], 0x44); r[7] = _mm256_shuffle_ps(t[5], t[7], 0xEE);
    t[0] = _mm256_permute2f128_ps(r[0], r[4], 0x20); t[1] = _mm256_permute2f128_ps(r[1], r[5], 0x20);
    t[2] = _mm256_permute2f128_ps(r[2], r[6], 0x20); t[3] = _mm256_permute2f128_ps(r[3], r[7], 0x20);
    t[4] = _mm256_permute2f128_ps(r[0], r[4], 0x31); t[5] = _mm256_permute2f128_ps(r[1], r[5], 0x31);
    t[6] = _mm256_permute2f128_ps(r[2], r[6], 0x31); t[7] = _mm256_permute2f128_ps(r[3], r[7], 0x31);
    for (int k = 0; k < 8; k++) _mm256_storeu_ps((float *)(D + k * dstride), t[k]);
}
#endif

/* dst[.., i, j] = src[.., i, j] where src is contiguous along i (the second-to-last
 * dim) and dst along j: a transpose. 32x32 tiles keep both sides in cache. */
static void transpose_tiled4(void *dst, const int64_t *ds, const void *src, const int64_t *ss, int nd,
                             const int64_t *sh) {
    enum { TB = 32 };
    int64_t A = sh[nd - 2], B = sh[nd - 1];
    int64_t outer = rt_shape_numel(nd - 2, sh), ta = (A + TB - 1) / TB, tb = (B + TB - 1) / TB;
    int64_t tasks = outer * ta * tb;
    #pragma omp parallel for schedule(static) if (outer * A * B > 262144)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / (ta * tb), it = (t / tb) % ta, jt = t % tb;
        int64_t rem = o, doff = 0, soff = 0;
        for (int k = nd - 3; k >= 0; k--) {
            int64_t ix = rem % sh[k];
            rem /= sh[k];
            doff += ix * ds[k];
            soff += ix * ss[k];
        }
        uint32_t *D = (uint32_t *)dst + doff;
        const uint32_t *S = (const uint32_t *)src + soff;
        int64_t i1 = (it + 1) * TB < A ? (it + 1) * TB : A, j1 = (jt + 1) * TB < B ? (jt + 1) * TB : B;
        int64_t dA = ds[nd - 2], sB = ss[nd - 1];
#if defined(__AVX2__)
        if (i1 - it * TB == TB && j1 - jt * TB == TB) {   /* full tile: 8x8 register transposes */
            for (int64_t i = it * TB; i < i1; i += 8)
                for (int64_t j = jt * TB; j < j1; j += 8) transpose8x8(D + i * dA + j, dA, S + i + j * sB, sB);
            continue;
        }
#endif
        for (int64_t i = it * TB; i < i1; i++)
            for (int64_t j = jt * TB; j < j1; j++) D[i * dA + j] = S[i + j * sB];
    }
}

void rt_copy_strided(void *dst, rt_dtype ddt, const int64_t *dstride,
                     const void *src, rt_dtype sdt, const int64_t *sstride,
                     int ndim, const int64_t *shape) {
    int64_t sh[RT_MAXDIM], st[2][RT_MAXDIM];
    for (int i = 0; i < ndim; i++) { sh[i] = shape[i]; st[0][i] = dstride[i]; st[1][i] = sstride[i]; }
    if (rt_shape_numel(ndim, shape) == 0) return;
    int nd = rt_coalesce(ndim, sh, 2, st);
    int64_t inner = sh[nd - 1], rows = rt_shape_numel(nd - 1, sh);
    size_t des = rt_dtype_size(ddt), ses = rt_dtype_size(sdt);
    if (rows == 1 && inner > 262144) {   /* one long row: split it across threads */
        int64_t CH = 65536, nch = (inner + CH - 1) / CH;
        #pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < nch; c++) {
            int64_t i0 = c * CH, m = inner - i0 < CH ? inner - i0 : CH;
            copy_row((char *)dst + i0 * st[0][0] * (int64_t)des, ddt, st[0][0],
                     (const char *)src + i0 * st[1][0] * (int64_t)ses, sdt, st[1][0], m);
        }
        return;
    }
    if (nd >= 2 && ddt == sdt && des == 4 && st[0][nd - 1] == 1 && st[1][nd - 2] == 1 && st[1][nd - 1] != 1 &&
        sh[nd - 2] >= 8 && inner >= 8) {
        transpose_tiled4(dst, st[0], src, st[1], nd, sh);
        return;
    }
    #pragma omp parallel for schedule(static) if (rows * inner > 262144 && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r, doff = 0, soff = 0;
        for (int k = nd - 2; k >= 0; k--) {
            int64_t ix = rem % sh[k];
            rem /= sh[k];
            doff += ix * st[0][k];
            soff += ix * st[1][k];
        }
        copy_row((char *)dst + doff * (int64_t)des, ddt, st[0][nd - 1],
                 (const char *)src + soff * (int64_t)ses, sdt, st[1][nd - 1], inner);
    }
}
