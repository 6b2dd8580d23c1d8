/* http/common/mime.c: Content-Type by file extension (corio_http_mime_type), a sorted table searched
 * with bsearch; text types carry "; charset=utf-8". And which types are worth compressing
 * (corio__http_compressible, mime.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <corio/http_server.h>

#include "http/common/mime.h"
#include "runtime/util/str.h"

struct mime {
	const char *ext, *type;
};

/* Sorted by extension (lower case) for bsearch. */
static const struct mime table[] = {
	{ "7z", "application/x-7z-compressed" },
	{ "avif", "image/avif" },
	{ "bin", "application/octet-stream" },
	{ "bmp", "image/bmp" },
	{ "bz2", "application/x-bzip2" },
	{ "c", "text/plain; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "gif", "image/gif" },
	{ "gz", "application/gzip" },
	{ "h", "text/plain; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "html", "text/html; charset=utf-8" },
	{ "ico", "image/vnd.microsoft.icon" },
	{ "jpeg", "image/jpeg" },
	{ "jpg", "image/jpeg" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "md", "text/markdown; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
	{ "ogg", "audio/ogg" },
	{ "otf", "font/otf" },
	{ "pdf", "application/pdf" },
	{ "png", "image/png" },
	{ "svg", "image/svg+xml" },
	{ "tar", "application/x-tar" },
	{ "tif", "image/tiff" },
	{ "tiff", "image/tiff" },
	{ "ttf", "font/ttf" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "wasm", "application/wasm" },
	{ "wav", "audio/wav" },
	{ "webm", "video/webm" },
	{ "webp", "image/webp" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "xml", "application/xml" },
	{ "xz", "application/x-xz" },
	{ "zip", "application/zip" },
	{ "zst", "application/zstd" },
};

static int cmp(const void *key, const void *elem)
{
	return strcasecmp(key, ((const struct mime *)elem)->ext);
}

const char *corio_http_mime_type(const char *path)
{
	const char *slash, *dot;
	const struct mime *m;

	if (!path)
		return "application/octet-stream";
	slash = strrchr(path, '/');
	dot = strrchr(slash ? slash : path, '.');
	if (!dot || !dot[1])
		return "application/octet-stream";
	m = bsearch(dot + 1, table, sizeof table / sizeof *table, sizeof *table, cmp);
	return m ? m->type : "application/octet-stream";
}

/* Types listed whole (after "text/", which is always compressible). The list is short:
 * a linear scan costs less than the deflate it decides about. */
static const char *const packable[] = {
	"application/json", "application/javascript", "application/xml", "application/wasm",
	"image/svg+xml", "image/bmp", "image/vnd.microsoft.icon", "font/ttf", "font/otf",
};

bool corio__http_compressible(const char *ct)
{
	size_t n;

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t\r"); /* "\r": a value inside a header block */
	if (n > 5 && corio__ascii_ieq(ct, "text/", 5))
		return true;
	for (size_t i = 0; i < sizeof packable / sizeof *packable; i++)
		if (strlen(packable[i]) == n && corio__ascii_ieq(ct, packable[i], n))
			return true;
	/* structured syntax suffixes (RFC 6839): application/ld+json, application/atom+xml */
	return n > 12 && corio__ascii_ieq(ct, "application/", 12) &&
	       ((n > 17 && corio__ascii_ieq(ct + n - 5, "+json", 5)) ||
		(n > 16 && corio__ascii_ieq(ct + n - 4, "+xml", 4)));
}
