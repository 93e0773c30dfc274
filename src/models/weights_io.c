/* weights_io.c — adapter from the model code to the src/io readers/writers:
 * TF1 checkpoints come back with PyTorch names (kernels transposed, optimizer
 * slots skipped, by the io helper's tfnames map); everything else with the names
 * stored in the file. */
#include <string.h>
#include <unistd.h>
#include "weights_io.h"
#include "../io/safetensors.h"
#include "../io/tfckpt.h"
#include "../io/torchbin.h"
#include "../io/weights.h"

static bool is_tf(const char *path) {
    size_t n = strlen(path);
    if (n >= 6 && !strcmp(path + n - 6, ".index")) return true;
    char ip[4096];
    if (n + 7 > sizeof ip) return false;
    memcpy(ip, path, n);
    memcpy(ip + n, ".index", 7);
    return access(path, F_OK) != 0 && access(ip, R_OK) == 0;
}

rt_tensor_dict *rt_weights_load(const char *path) {
    if (is_tf(path)) return rt_tfckpt_load(path, 1);
    return rt_io_load(path);
}

rt_status rt_weights_save(const char *path, const rt_tensor_dict *d, bool bin) {
    if (!bin) return rt_safetensors_save(path, d);
    return rt_torchbin_save(path, d);
}
