/* tests/support/certs.c: makes the test certificates of tests/support/certs.h with OpenSSL's
 * API (no openssl CLI needed): P-256 keys, SHA-256 signatures, SANs for the leaves; and the
 * corio TLS configs and the exact read the TLS suites share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <corio/tls.h>

#include "tests/support/certs.h"

static const char *const names[CERT_NFILES] = {
	"ca.pem", "other_ca.pem", "good.pem", "good.key", "expired.pem", "expired.key",
	"wrong.pem", "wrong.key",
};

static int cert_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(crt, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* A certificate for key named cn, valid from `from` to `to` seconds from now, signed by
 * (ikey, issuer), or self-signed when issuer is NULL (then a CA). san may be NULL. */
static X509 *cert_new(EVP_PKEY *key, const char *cn, long from, long to, const char *san,
		      X509 *issuer, EVP_PKEY *ikey, long serial)
{
	X509 *crt = X509_new();
	X509_NAME *name;
	bool ok;

	if (!crt)
		return NULL;
	name = X509_get_subject_name(crt);
	ok = X509_set_version(crt, X509_VERSION_3) && ASN1_INTEGER_set(X509_get_serialNumber(crt), serial) &&
	     X509_gmtime_adj(X509_getm_notBefore(crt), from) &&
	     X509_gmtime_adj(X509_getm_notAfter(crt), to) && X509_set_pubkey(crt, key) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
					-1, 0) &&
	     X509_set_issuer_name(crt, issuer ? X509_get_subject_name(issuer) : name);
	if (ok && !issuer)
		ok = cert_ext(crt, crt, NID_basic_constraints, "critical,CA:TRUE") &&
		     cert_ext(crt, crt, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (ok && san)
		ok = cert_ext(crt, issuer, NID_subject_alt_name, san);
	if (ok)
		ok = X509_sign(crt, issuer ? ikey : key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(crt);
		return NULL;
	}
	return crt;
}

static bool cert_write(const char *crt_path, X509 *crt, const char *key_path, EVP_PKEY *key)
{
	FILE *f = fopen(crt_path, "w");
	bool ok = f && PEM_write_X509(f, crt);

	if (f)
		ok = fclose(f) == 0 && ok;
	if (!ok || !key_path)
		return ok;
	f = fopen(key_path, "w");
	ok = f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (f)
		ok = fclose(f) == 0 && ok;
	return ok;
}

/* A leaf signed by (ca, cakey), written to files crt_i and crt_i + 1 (its key). */
static bool leaf_write(th_certs *c, int crt_i, const char *cn, long from, long to,
		       const char *san, X509 *ca, EVP_PKEY *cakey, long serial)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = key ? cert_new(key, cn, from, to, san, ca, cakey, serial) : NULL;
	bool ok = crt && cert_write(c->path[crt_i], crt, c->path[crt_i + 1], key);

	X509_free(crt);
	EVP_PKEY_free(key);
	return ok;
}

bool th_certs_make(th_certs *c)
{
	const long day = 86400;
	EVP_PKEY *cakey, *okey;
	X509 *ca, *oca;
	bool ok;

	snprintf(c->dir, sizeof c->dir, "%s/corio-tls.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (strlen(c->dir) > 40 || !mkdtemp(c->dir))
		return false;
	for (int i = 0; i < CERT_NFILES; i++)
		snprintf(c->path[i], sizeof c->path[i], "%s/%s", c->dir, names[i]);
	cakey = EVP_EC_gen("P-256");
	okey = EVP_EC_gen("P-256");
	ca = cakey ? cert_new(cakey, "corio test CA", -day, 30 * day, NULL, NULL, NULL, 1) : NULL;
	oca = okey ? cert_new(okey, "corio other CA", -day, 30 * day, NULL, NULL, NULL, 2) : NULL;
	ok = ca && oca && cert_write(c->path[CERT_CA], ca, NULL, NULL) &&
	     cert_write(c->path[CERT_OTHER_CA], oca, NULL, NULL) &&
	     leaf_write(c, CERT_GOOD, "localhost", -day, 30 * day, "DNS:localhost,IP:127.0.0.1",
			ca, cakey, 10) &&
	     leaf_write(c, CERT_EXPIRED, "localhost", -3 * day, -day, "DNS:localhost,IP:127.0.0.1",
			ca, cakey, 11) &&
	     leaf_write(c, CERT_WRONG, "elsewhere.example", -day, 30 * day,
			"DNS:elsewhere.example", ca, cakey, 12);
	X509_free(ca);
	X509_free(oca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(okey);
	return ok;
}

void th_certs_remove(th_certs *c)
{
	for (int i = 0; i < CERT_NFILES; i++)
		unlink(c->path[i]);
	rmdir(c->dir);
}


corio_tls_config *th_tls_server(const th_certs *c, int crt)
{
	corio_tls_config *cfg = corio_tls_config_new(true);

	if (cfg && corio_tls_config_cert(cfg, c->path[crt], c->path[crt + 1]) != 0) {
		corio_tls_config_free(cfg);
		return NULL;
	}
	return cfg;
}

corio_tls_config *th_tls_client(const th_certs *c, int ca)
{
	corio_tls_config *cfg = corio_tls_config_new(false);

	if (cfg && corio_tls_config_ca(cfg, c->path[ca], NULL) != 0) {
		corio_tls_config_free(cfg);
		return NULL;
	}
	return cfg;
}

ssize_t th_tls_read_exact(corio_tls *t, void *p, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = corio_tls_read(t, (unsigned char *)p + got, len - got);

		if (n <= 0)
			return n < 0 ? n : (ssize_t)got;
		got += (size_t)n;
	}
	return (ssize_t)got;
}
