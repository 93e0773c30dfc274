/* weights.c — format detection for rt_io_load. */
#include "weights.h"
#include "ioutil.h"
#include "safetensors.h"
#include "torchbin.h"
#include "tfckpt.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

rt_tensor_dict *rt_io_load(const char *path) {
    struct stat st;
    if (ends_with(path, ".index")) return rt_tfckpt_load(path, 0);
    if (stat(path, &st) != 0) {                     /* a TF prefix such as dir/model.ckpt */
        char ip[4096];
        snprintf(ip, sizeof ip, "%s.index", path);
        if (access(ip, R_OK) == 0) return rt_tfckpt_load(path, 0);
    }
    FILE *f = fopen(path, "rb");
    if (!f) { rt_errorf(RT_EIO, "%s: %s", path, strerror(errno)); return NULL; }
    uint8_t head[16] = {0};
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n >= 4 && memcmp(head, "PK\3\4", 4) == 0) return rt_torchbin_load(path);
    /* safetensors first: its 8-byte header length can begin with 0x80 0x02..0x05 */
    if (n >= 9 && head[8] == '{') return rt_safetensors_load(path);
    if (n >= 2 && head[0] == 0x80 && head[1] <= 5) return rt_torchbin_load(path);   /* legacy: clear error */
    rt_errorf(RT_EFORMAT, "%s: unknown weight file format (not safetensors, not a zip-based torch.save file)", path);
    return NULL;
}
