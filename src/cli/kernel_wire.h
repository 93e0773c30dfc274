/* kernel_wire.h — the Jupyter messaging protocol 5.3 on the wire for `retort --kernel`:
 * the connection file, the five ZeroMQ sockets, HMAC-SHA256 signatures (checked on
 * every incoming message) and multipart messages
 *   [identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content]. */
#ifndef RT_KERNEL_WIRE_H
#define RT_KERNEL_WIRE_H

#include <pthread.h>
#include <stddef.h>
#include <cJSON.h>

typedef struct {
    char transport[16], ip[64], scheme[32];
    int shell_port, iopub_port, stdin_port, control_port, hb_port;
    unsigned char key[256];
    size_t key_len;
} kw_conn;

typedef struct {
    void *ctx, *shell, *control, *stdin_, *iopub, *hb;
    kw_conn conn;
    char session[40];                 /* this kernel's session id */
    pthread_mutex_t iopub_lock;       /* iopub is shared by the shell and control threads */
} kw_kernel;

/* One received message: routing identities and the four JSON parts (owned). */
typedef struct {
    void **ids;                       /* zmq_msg_t* frames before the delimiter */
    size_t nids;
    cJSON *header, *parent, *metadata, *content;
    const char *msg_type;             /* points into header */
} kw_msg;

/* Read a connection file (JSON: transport, ip, *_port, key, signature_scheme). Returns
 * 0, or -1 with a message naming the file in err. */
int kw_read_connection(const char *path, kw_conn *c, char *err, size_t errn);

/* Create the context and bind the five sockets. Returns 0 or -1 (err says which). */
int kw_open(kw_kernel *k, char *err, size_t errn);
void kw_close(kw_kernel *k);

/* Receive one message from a ROUTER socket (blocking). Returns 0; 1 for a message
 * that failed the signature check or did not parse (dropped, logged to stderr);
 * -1 when the context is shutting down. */
int kw_recv(kw_kernel *k, void *sock, kw_msg *m);
void kw_msg_free(kw_msg *m);

/* Send msg_type with content (consumed) as a reply to / in the context of parent
 * (may be NULL). On a ROUTER socket the parent's identities route it; on iopub the
 * topic is the msg_type (the lock is taken inside). Returns 0 or -1. */
int kw_send(kw_kernel *k, void *sock, const kw_msg *parent, const char *msg_type, cJSON *content);

/* iopub "status" with execution_state busy|idle for parent. */
void kw_status(kw_kernel *k, const kw_msg *parent, const char *state);

/* Lowercase hex HMAC-SHA256 of the concatenated parts with the connection key
 * (out: 65 bytes). An empty key gives an empty signature (as Jupyter does). */
void kw_sign(const kw_conn *c, const char *const *parts, const size_t *lens, int n, char *out);

#endif
