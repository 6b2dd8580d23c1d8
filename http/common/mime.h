/* http/common/mime.h: what the server needs to know about a media type beyond its name
 * (corio_http_mime_type, in the public header, names it): whether it is worth compressing.
 * Never parks. */
#ifndef CORIO_HTTP_COMMON_MIME_H
#define CORIO_HTTP_COMMON_MIME_H

#include <stdbool.h>

/* True for media types that gzip shrinks: text/<any>, application/json, application/
 * javascript, application/xml, application/wasm, any application/<x>+json or +xml,
 * image/svg+xml, image/bmp, image/vnd.microsoft.icon, font/ttf and font/otf. Parameters
 * (";charset=...") and ASCII case are ignored. Already compressed formats (images, audio,
 * video, archives, woff/woff2) and unknown types are not. NULL: false. */
bool corio__http_compressible(const char *content_type);

#endif
