/* dtype.c — element sizes, names and name parsing (tensor.h). */
#include <string.h>
#include "tensor.h"

static const size_t SIZES[RT_NDTYPES] = {4, 4, 8, 2, 1};
static const char *NAMES[RT_NDTYPES] = {"f32", "i32", "i64", "bf16", "bool"};

size_t rt_dtype_size(rt_dtype dt) { return (unsigned)dt < RT_NDTYPES ? SIZES[dt] : 0; }
const char *rt_dtype_name(rt_dtype dt) { return (unsigned)dt < RT_NDTYPES ? NAMES[dt] : "?"; }

int rt_dtype_parse(const char *name, rt_dtype *out) {
    static const struct { const char *n; rt_dtype d; } T[] = {
        {"f32", RT_F32}, {"float32", RT_F32}, {"float", RT_F32}, {"F32", RT_F32},
        {"i32", RT_I32}, {"int32", RT_I32}, {"int", RT_I32}, {"I32", RT_I32},
        {"i64", RT_I64}, {"int64", RT_I64}, {"long", RT_I64}, {"I64", RT_I64},
        {"bf16", RT_BF16}, {"bfloat16", RT_BF16}, {"BF16", RT_BF16},
        {"bool", RT_BOOL}, {"BOOL", RT_BOOL}, {"u8", RT_BOOL},
    };
    if (!name) return -1;
    for (size_t i = 0; i < sizeof T / sizeof *T; i++)
        if (strcmp(name, T[i].n) == 0) { *out = T[i].d; return 0; }
    return -1;
}
