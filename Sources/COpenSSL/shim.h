#ifndef FOGHORN_COPENSSL_SHIM_H
#define FOGHORN_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <pthread.h>
#include <openssl/core_names.h>

/* OpenSSL exposes these as macros over SSL_CTX_ctrl; Swift cannot import them. */
static inline int foghorn_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int foghorn_ssl_set_min_proto_version(SSL *ssl, int version) {
    return (int)SSL_set_min_proto_version(ssl, version);
}
static inline int foghorn_ssl_set_max_proto_version(SSL *ssl, int version) {
    return (int)SSL_set_max_proto_version(ssl, version);
}
static inline long foghorn_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}
static inline int foghorn_ssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline long foghorn_ssl_session_reused(SSL *ssl) {
    return SSL_session_reused(ssl);
}
static inline int foghorn_ssl_ctx_add_chain_cert(SSL_CTX *ctx, X509 *x) {
    return (int)SSL_CTX_add1_chain_cert(ctx, x);
}

/* Options our server contexts use (SSL_OP_* are macro expressions Swift cannot import). */
static inline void foghorn_ssl_ctx_set_server_options(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

/* SNI: a table of DNS names ("a.example.com" or "*.example.com") → SSL_CTX. Exact names
 * win over wildcards; a wildcard covers exactly one label; no match keeps the default. */
typedef struct foghorn_sni_table {
    int count;
    char **names;
    SSL_CTX **ctxs;
} foghorn_sni_table;

static int foghorn_sni_callback(SSL *ssl, int *alert, void *arg) {
    (void)alert;
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    foghorn_sni_table *t = (foghorn_sni_table *)arg;
    if (!host || !t) return SSL_TLSEXT_ERR_OK;
    for (int i = 0; i < t->count; i++) {
        if (strcasecmp(t->names[i], host) == 0) {
            if (SSL_get_SSL_CTX(ssl) != t->ctxs[i]) SSL_set_SSL_CTX(ssl, t->ctxs[i]);
            return SSL_TLSEXT_ERR_OK;
        }
    }
    const char *dot = strchr(host, '.');
    if (dot && dot != host) {
        for (int i = 0; i < t->count; i++) {
            const char *n = t->names[i];
            if (n[0] == '*' && n[1] == '.' && strcasecmp(n + 1, dot) == 0) {
                if (SSL_get_SSL_CTX(ssl) != t->ctxs[i]) SSL_set_SSL_CTX(ssl, t->ctxs[i]);
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

static inline void foghorn_ssl_ctx_set_sni_table(SSL_CTX *ctx, foghorn_sni_table *table) {
    SSL_CTX_set_tlsext_servername_callback(ctx, foghorn_sni_callback);
    SSL_CTX_set_tlsext_servername_arg(ctx, table);
}

/* ALPN: we speak http/1.1 only; a client offering something else proceeds without ALPN. */
static int foghorn_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                               const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    static const unsigned char h11[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, h11, sizeof(h11), in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static inline void foghorn_ssl_ctx_set_alpn_http11(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, foghorn_alpn_select, NULL);
}

/* Client side: offer http/1.1. */
static inline int foghorn_ssl_set_alpn_http11(SSL *ssl) {
    static const unsigned char h11[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
    return SSL_set_alpn_protos(ssl, h11, sizeof(h11));
}

/* Session ticket keys: one process-wide ring — the current key encrypts new tickets, the
 * previous one still decrypts (then the ticket is renewed), older ones are forgotten.
 * Rotated by foghorn_ticket_keys_rotate (e.g. every 12 h); safe from any thread. Only the
 * FoghornTLS module uses these (a static in a header is per module). */
typedef struct foghorn_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    int valid;
} foghorn_ticket_key;
/* Function-local statics: Swift's importer emits a static inline function with its locals,
 * not file-scope statics. */
static inline foghorn_ticket_key *foghorn_ticket_ring_storage(void) {
    static foghorn_ticket_key ring[2];
    return ring;
}
static inline pthread_mutex_t *foghorn_ticket_mutex(void) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    return &lock;
}
#define foghorn_ticket_ring (foghorn_ticket_ring_storage())
#define foghorn_ticket_lock (*foghorn_ticket_mutex())

static inline int foghorn_ticket_keys_rotate(void) {
    foghorn_ticket_key fresh;
    if (RAND_bytes(fresh.name, 16) != 1 || RAND_bytes(fresh.aes, 32) != 1 || RAND_bytes(fresh.hmac, 32) != 1) return 0;
    fresh.valid = 1;
    pthread_mutex_lock(&foghorn_ticket_lock);
    foghorn_ticket_ring[1] = foghorn_ticket_ring[0];
    foghorn_ticket_ring[0] = fresh;
    pthread_mutex_unlock(&foghorn_ticket_lock);
    return 1;
}

static int foghorn_ticket_callback(SSL *s, unsigned char key_name[16], unsigned char *iv,
                                   EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc) {
    (void)s;
    int result = 0;
    pthread_mutex_lock(&foghorn_ticket_lock);
    const foghorn_ticket_key *k = NULL;
    if (enc) {
        if (foghorn_ticket_ring[0].valid && RAND_bytes(iv, 16) == 1) {
            k = &foghorn_ticket_ring[0];
            memcpy(key_name, k->name, 16);
            result = EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 ? 1 : -1;
        } else {
            result = -1;
        }
    } else {
        for (int i = 0; i < 2; i++) {
            if (foghorn_ticket_ring[i].valid && memcmp(key_name, foghorn_ticket_ring[i].name, 16) == 0) {
                k = &foghorn_ticket_ring[i];
                result = EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 ? (i == 0 ? 1 : 2) : -1;
                break;
            }
        }
    }
    if (k && result > 0) {
        OSSL_PARAM params[3];
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, 32);
        params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"sha256", 0);
        params[2] = OSSL_PARAM_construct_end();
        if (EVP_MAC_CTX_set_params(hctx, params) != 1) result = -1;
    }
    pthread_mutex_unlock(&foghorn_ticket_lock);
    return result;
}

static inline void foghorn_ssl_ctx_use_ticket_ring(SSL_CTX *ctx) {
    pthread_mutex_lock(&foghorn_ticket_lock);
    int ready = foghorn_ticket_ring[0].valid;
    pthread_mutex_unlock(&foghorn_ticket_lock);
    if (!ready) foghorn_ticket_keys_rotate();
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, foghorn_ticket_callback);
}

/* notAfter of a certificate as Unix seconds (0 on error). */
static inline long long foghorn_x509_not_after_unix(X509 *x) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!x || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) return 0;
    return (long long)timegm(&tm);
}

/* DNS names of a certificate (subjectAltName, else the subject CN), '\n'-separated into `out`.
 * Returns the number of names written. */
static inline int foghorn_x509_dns_names(X509 *x, char *out, int outlen) {
    int written = 0, count = 0;
    if (outlen <= 0) return 0;
    out[0] = 0;
    GENERAL_NAMES *names = (GENERAL_NAMES *)X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
            const GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
            if (n->type != GEN_DNS) continue;
            const unsigned char *data = ASN1_STRING_get0_data(n->d.dNSName);
            int len = ASN1_STRING_length(n->d.dNSName);
            if (len <= 0 || written + len + 2 > outlen) continue;
            memcpy(out + written, data, (size_t)len);
            written += len;
            out[written++] = '\n';
            out[written] = 0;
            count++;
        }
        GENERAL_NAMES_free(names);
    }
    if (count == 0) {
        char cn[256];
        int len = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
        if (len > 0 && written + len + 2 <= outlen) {
            memcpy(out + written, cn, (size_t)len);
            written += len;
            out[written++] = '\n';
            out[written] = 0;
            count++;
        }
    }
    return count;
}

/* The first queued OpenSSL error as text (and clears the queue). */
static inline void foghorn_ssl_error_text(char *out, int outlen) {
    unsigned long e = ERR_get_error();
    if (e == 0) { if (outlen > 0) out[0] = 0; }
    else ERR_error_string_n(e, out, (size_t)outlen);
    ERR_clear_error();
}
#endif
