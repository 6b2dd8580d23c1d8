/* tests/support/certs.h: the certificates TLS tests and benchmarks run with, made at run
 * time with OpenSSL into a mkdtemp directory: an EC P-256 CA, a leaf for "localhost" and
 * 127.0.0.1 signed by it, an expired leaf, a leaf for another name, and a second CA that
 * signed nothing. th_certs_make writes them, th_certs_remove deletes them. */
#ifndef CORIO_TESTS_SUPPORT_CERTS_H
#define CORIO_TESTS_SUPPORT_CERTS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct corio_tls;
struct corio_tls_config;

/* Files inside the directory, by index into th_certs.path (a key follows its certificate). */
enum { CERT_CA, CERT_OTHER_CA, CERT_GOOD, CERT_GOOD_KEY, CERT_EXPIRED, CERT_EXPIRED_KEY,
       CERT_WRONG, CERT_WRONG_KEY, CERT_NFILES };

typedef struct th_certs {
	char dir[64];
	char path[CERT_NFILES][PATH_MAX];
} th_certs;

/* Makes the directory and every file; false on any failure (call th_certs_remove anyway). */
bool th_certs_make(th_certs *c);
/* Deletes the files and the directory. */
void th_certs_remove(th_certs *c);

/* corio TLS configs over these files (corio/tls.h; free them with corio_tls_config_free),
 * NULL on any failure: a server presenting certificate crt (its key is crt + 1), and a
 * client trusting only the CA file ca. */
struct corio_tls_config *th_tls_server(const th_certs *c, int crt);
struct corio_tls_config *th_tls_client(const th_certs *c, int ca);
/* Reads len bytes from t: len, fewer at the peer's close_notify, or -errno. Parks. */
ssize_t th_tls_read_exact(struct corio_tls *t, void *p, size_t len);

#endif
