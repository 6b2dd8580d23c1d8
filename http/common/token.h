/* http/common/token.h: the header checks client and server share: RFC 9110 tokens (methods,
 * header names), header values that cannot inject a line, and the looser header-name test
 * the server's writer applies to names a handler sets. Pure functions, never park. *
 * Names: internal names of http/common/ are corio__http_* (CORIO__HTTP_* constants); it
 * includes nothing from http/client/ or http/server/, which use corio__hclient_* and
 * corio__hserver_*. */
#ifndef CORIO_HTTP_COMMON_TOKEN_H
#define CORIO_HTTP_COMMON_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

/* An RFC 9110 token of at most max bytes (NULL and "" are not). */
bool corio__http_valid_token(const char *s, size_t max);
/* A header value: no CR or LF, so it cannot end its line and start another (NULL is
 * valid: no value). */
bool corio__http_valid_value(const char *s);
/* A header name that cannot break the header block's framing: not empty, and no CR, LF,
 * ':', SP or HT. Looser than a token on purpose: it is what the server has always
 * accepted from handlers. */
bool corio__http_framing_safe_name(const char *s);

#endif
