/* weights.c — format detection for rt_io_load. */
#include "weights.h"
#include "ioutil.h"
#include "safetensors.h"
#include "torchbin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

rt_tensor_dict *rt_io_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { rt_errorf(RT_EIO, "%s: %s", path, strerror(errno)); return NULL; }
    uint8_t head[16] = {0};
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n >= 4 && memcmp(head, "PK\3\4", 4) == 0) return rt_torchbin_load(path);
    if (n >= 2 && head[0] == 0x80 && head[1] <= 5) return rt_torchbin_load(path);   /* legacy: clear error */
    if (n >= 9 && head[8] == '{') return rt_safetensors_load(path);
    rt_errorf(RT_EFORMAT, "%s: unknown weight file format (not safetensors, not a zip-based torch.save file)", path);
    return NULL;
}
