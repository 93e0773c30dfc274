/* weights_io.c — adapter from the model code to the src/io readers/writers. */
#include <string.h>
#include "weights_io.h"
#include "../io/safetensors.h"
#include "../io/torchbin.h"
#include "../io/weights.h"


rt_tensor_dict *rt_weights_load(const char *path) {
    return rt_io_load(path);
}

rt_status rt_weights_save(const char *path, const rt_tensor_dict *d, bool bin) {
    if (!bin) return rt_safetensors_save(path, d);
    return rt_torchbin_save(path, d);
}

bool rt_tf_name_to_pt(const char *tf, char *out, size_t n) {
    (void)tf; (void)out; (void)n;
    return false;
}
