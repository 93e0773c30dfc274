/* kernel_wire.c — Jupyter messaging on ZeroMQ: connection file, sockets, signed
 * multipart messages (see kernel_wire.h). */
#include "kernel_wire.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zmq.h>
#include "../core/sys.h"

static const char DELIM[] = "<IDS|MSG>";

int kw_read_connection(const char *path, kw_conn *c, char *err, size_t errn) {
    memset(c, 0, sizeof *c);
    uint8_t *text = NULL;
    size_t tlen = 0;
    if (rt_read_file(path, &text, &tlen) != RT_OK) {
        snprintf(err, errn, "cannot read connection file: %s", rt_last_error());
        return -1;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)text, tlen);
    free(text);
    if (!cJSON_IsObject(j)) { snprintf(err, errn, "%s: not a JSON object", path); cJSON_Delete(j); return -1; }
    const char *tr = cJSON_GetStringValue(cJSON_GetObjectItem(j, "transport"));
    const char *ip = cJSON_GetStringValue(cJSON_GetObjectItem(j, "ip"));
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(j, "key"));
    const char *sc = cJSON_GetStringValue(cJSON_GetObjectItem(j, "signature_scheme"));
    snprintf(c->transport, sizeof c->transport, "%s", tr ? tr : "tcp");
    snprintf(c->ip, sizeof c->ip, "%s", ip ? ip : "127.0.0.1");
    snprintf(c->scheme, sizeof c->scheme, "%s", sc ? sc : "hmac-sha256");
    struct { const char *name; int *dst; } ports[] = {
        {"shell_port", &c->shell_port}, {"iopub_port", &c->iopub_port}, {"stdin_port", &c->stdin_port},
        {"control_port", &c->control_port}, {"hb_port", &c->hb_port}};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
        cJSON *p = cJSON_GetObjectItem(j, ports[i].name);
        if (!cJSON_IsNumber(p) || p->valuedouble < 1 || p->valuedouble > 65535) {
            snprintf(err, errn, "%s: %s missing or not a port number", path, ports[i].name);
            cJSON_Delete(j);
            return -1;
        }
        *ports[i].dst = (int)p->valuedouble;
    }
    if (strcmp(c->scheme, "hmac-sha256") != 0) {
        snprintf(err, errn, "%s: signature_scheme '%s' is not supported (hmac-sha256 is)", path, c->scheme);
        cJSON_Delete(j);
        return -1;
    }
    size_t kl = key ? strlen(key) : 0;
    if (kl >= sizeof c->key) { snprintf(err, errn, "%s: key too long", path); cJSON_Delete(j); return -1; }
    memcpy(c->key, key ? key : "", kl);
    c->key_len = kl;
    cJSON_Delete(j);
    return 0;
}

static void uuid4(char out[37]) {
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, 16, f) != 16) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        srand((unsigned)(tv.tv_usec ^ tv.tv_sec));
        for (int i = 0; i < 16; i++) b[i] = (unsigned char)rand();
    }
    if (f) fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void *bind_socket(void *ctx, int type, const kw_conn *c, int port, char *err, size_t errn) {
    void *s = zmq_socket(ctx, type);
    if (!s) { snprintf(err, errn, "zmq_socket: %s", zmq_strerror(zmq_errno())); return NULL; }
    int linger = 1000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    char ep[128];
    snprintf(ep, sizeof ep, "%s://%s:%d", c->transport, c->ip, port);
    if (zmq_bind(s, ep) != 0) {
        snprintf(err, errn, "cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

int kw_open(kw_kernel *k, char *err, size_t errn) {
    uuid4(k->session);
    pthread_mutex_init(&k->iopub_lock, NULL);
    k->ctx = zmq_ctx_new();
    if (!k->ctx) { snprintf(err, errn, "zmq_ctx_new failed"); return -1; }
    const kw_conn *c = &k->conn;
    if (!(k->shell = bind_socket(k->ctx, ZMQ_ROUTER, c, c->shell_port, err, errn)) ||
        !(k->control = bind_socket(k->ctx, ZMQ_ROUTER, c, c->control_port, err, errn)) ||
        !(k->stdin_ = bind_socket(k->ctx, ZMQ_ROUTER, c, c->stdin_port, err, errn)) ||
        !(k->iopub = bind_socket(k->ctx, ZMQ_PUB, c, c->iopub_port, err, errn)) ||
        !(k->hb = bind_socket(k->ctx, ZMQ_REP, c, c->hb_port, err, errn)))
        return -1;
    return 0;
}

void kw_close(kw_kernel *k) {
    void *socks[] = {k->shell, k->control, k->stdin_, k->iopub, k->hb};
    for (size_t i = 0; i < 5; i++) if (socks[i]) zmq_close(socks[i]);
    if (k->ctx) zmq_ctx_term(k->ctx);
    pthread_mutex_destroy(&k->iopub_lock);
}

void kw_sign(const kw_conn *c, const char *const *parts, const size_t *lens, int n, char *out) {
    out[0] = 0;
    if (c->key_len == 0) return;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    /* one-shot over the concatenation (HMAC is streaming; EVP_MAC would also do) */
    size_t total = 0;
    for (int i = 0; i < n; i++) total += lens[i];
    unsigned char *buf = malloc(total ? total : 1), *p = buf;
    if (!buf) return;
    for (int i = 0; i < n; i++) { memcpy(p, parts[i], lens[i]); p += lens[i]; }
    HMAC(EVP_sha256(), c->key, (int)c->key_len, buf, total, md, &mdlen);
    free(buf);
    for (unsigned i = 0; i < mdlen; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void kw_msg_free(kw_msg *m) {
    for (size_t i = 0; i < m->nids; i++) { zmq_msg_close(m->ids[i]); free(m->ids[i]); }
    free(m->ids);
    cJSON_Delete(m->header);
    cJSON_Delete(m->parent);
    cJSON_Delete(m->metadata);
    cJSON_Delete(m->content);
    memset(m, 0, sizeof *m);
}

int kw_recv(kw_kernel *k, void *sock, kw_msg *m) {
    memset(m, 0, sizeof *m);
    zmq_msg_t *frames[64];
    size_t n = 0, more = 1;
    int rc = 0;
    while (more) {
        zmq_msg_t *f = malloc(sizeof *f);
        if (!f) return -1;
        zmq_msg_init(f);
        if (zmq_msg_recv(f, sock, 0) < 0) {
            int e = zmq_errno();
            zmq_msg_close(f);
            free(f);
            for (size_t i = 0; i < n; i++) { zmq_msg_close(frames[i]); free(frames[i]); }
            return e == ETERM ? -1 : 1;
        }
        more = (size_t)zmq_msg_more(f);
        if (n < 64) frames[n++] = f;
        else { zmq_msg_close(f); free(f); rc = 1; }
    }
    size_t d = 0;
    while (d < n && !(zmq_msg_size(frames[d]) == sizeof DELIM - 1 &&
                      memcmp(zmq_msg_data(frames[d]), DELIM, sizeof DELIM - 1) == 0)) d++;
    if (rc || d + 5 >= n) {
        fprintf(stderr, "retort kernel: dropped a malformed message (%zu frames)\n", n);
        rc = 1;
    } else {
        const char *parts[4];
        size_t lens[4];
        for (int i = 0; i < 4; i++) {
            parts[i] = zmq_msg_data(frames[d + 2 + i]);
            lens[i] = zmq_msg_size(frames[d + 2 + i]);
        }
        char sig[65];
        kw_sign(&k->conn, parts, lens, 4, sig);
        size_t sl = zmq_msg_size(frames[d + 1]);
        if (sl != strlen(sig) || CRYPTO_memcmp(sig, zmq_msg_data(frames[d + 1]), sl) != 0) {
            fprintf(stderr, "retort kernel: dropped a message with a bad signature\n");
            rc = 1;
        } else {
            cJSON **dst[4] = {&m->header, &m->parent, &m->metadata, &m->content};
            for (int i = 0; i < 4; i++) *dst[i] = cJSON_ParseWithLength(parts[i], lens[i]);
            m->msg_type = m->header ? cJSON_GetStringValue(cJSON_GetObjectItem(m->header, "msg_type")) : NULL;
            if (!m->header || !m->content || !m->msg_type) {
                fprintf(stderr, "retort kernel: dropped a message whose JSON did not parse\n");
                rc = 1;
            }
        }
    }
    if (rc == 0) {
        m->ids = malloc(sizeof(void *) * (d ? d : 1));
        for (size_t i = 0; i < d; i++) m->ids[i] = frames[i];
        m->nids = d;
        for (size_t i = d; i < n; i++) { zmq_msg_close(frames[i]); free(frames[i]); }
    } else {
        for (size_t i = 0; i < n; i++) { zmq_msg_close(frames[i]); free(frames[i]); }
        kw_msg_free(m);
    }
    return rc;
}

static cJSON *new_header(const kw_kernel *k, const char *msg_type) {
    char id[37], date[40];
    uuid4(id);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t l = strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(date + l, sizeof date - l, ".%06ldZ", (long)tv.tv_usec);
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "msg_id", id);
    cJSON_AddStringToObject(h, "session", k->session);
    cJSON_AddStringToObject(h, "username", "retort");
    cJSON_AddStringToObject(h, "date", date);
    cJSON_AddStringToObject(h, "msg_type", msg_type);
    cJSON_AddStringToObject(h, "version", "5.3");
    return h;
}

int kw_send(kw_kernel *k, void *sock, const kw_msg *parent, const char *msg_type, cJSON *content) {
    cJSON *h = new_header(k, msg_type);
    char *parts[4];
    parts[0] = cJSON_PrintUnformatted(h);
    parts[1] = parent && parent->header ? cJSON_PrintUnformatted(parent->header) : strdup("{}");
    parts[2] = strdup("{}");
    parts[3] = content ? cJSON_PrintUnformatted(content) : strdup("{}");
    cJSON_Delete(h);
    cJSON_Delete(content);
    size_t lens[4];
    for (int i = 0; i < 4; i++) lens[i] = parts[i] ? strlen(parts[i]) : 0;
    char sig[65];
    kw_sign(&k->conn, (const char *const *)parts, lens, 4, sig);
    bool is_pub = sock == k->iopub;
    if (is_pub) pthread_mutex_lock(&k->iopub_lock);
    int rc = 0;
    if (is_pub) {
        rc |= zmq_send(sock, msg_type, strlen(msg_type), ZMQ_SNDMORE) < 0;
    } else if (parent) {
        for (size_t i = 0; i < parent->nids; i++) {
            zmq_msg_t *f = parent->ids[i];
            rc |= zmq_send(sock, zmq_msg_data(f), zmq_msg_size(f), ZMQ_SNDMORE) < 0;
        }
    }
    rc |= zmq_send(sock, DELIM, sizeof DELIM - 1, ZMQ_SNDMORE) < 0;
    rc |= zmq_send(sock, sig, strlen(sig), ZMQ_SNDMORE) < 0;
    for (int i = 0; i < 4; i++) rc |= zmq_send(sock, parts[i] ? parts[i] : "", lens[i], i < 3 ? ZMQ_SNDMORE : 0) < 0;
    if (is_pub) pthread_mutex_unlock(&k->iopub_lock);
    for (int i = 0; i < 4; i++) free(parts[i]);
    return rc ? -1 : 0;
}

void kw_status(kw_kernel *k, const kw_msg *parent, const char *state) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "execution_state", state);
    kw_send(k, k->iopub, parent, "status", c);
}
