/* weights_io.c — adapter from the model code to the src/io readers/writers. */
#include <string.h>
#include "weights_io.h"
#include "../io/safetensors.h"

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

rt_tensor_dict *rt_weights_load(const char *path) {
    if (ends_with(path, ".safetensors")) return rt_safetensors_load(path);
    rt_errorf(RT_EFORMAT, "%s: this weight format is not supported yet (safetensors only)", path);
    return NULL;
}

rt_status rt_weights_save(const char *path, const rt_tensor_dict *d, bool bin) {
    if (!bin) return rt_safetensors_save(path, d);
    return rt_errorf(RT_EFORMAT, "%s: saving pytorch_model.bin is not supported yet", path);
}

bool rt_tf_name_to_pt(const char *tf, char *out, size_t n) {
    (void)tf; (void)out; (void)n;
    return false;
}
