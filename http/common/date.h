/* http/common/date.h: HTTP dates (date.c), for the server's Date and Last-Modified
 * headers and conditional requests. Never park. *
 * Names: internal names of http/common/ are corio__http_* (CORIO__HTTP_* constants); it
 * includes nothing from http/client/ or http/server/, which use corio__hclient_* and
 * corio__hserver_*. */
#ifndef CORIO_HTTP_COMMON_DATE_H
#define CORIO_HTTP_COMMON_DATE_H

#include <stdint.h>

#include "runtime/util/str.h"

/* The length of every date corio__http_date writes. */
#define CORIO__HTTP_DATE_LEN CORIO__SLEN("Sun, 06 Nov 1994 08:49:37 GMT")

/* "Sun, 06 Nov 1994 08:49:37 GMT" for t (CORIO__HTTP_DATE_LEN chars + NUL). */
void corio__http_date(char out[32], int64_t t);
/* Parses the three HTTP-date forms; -1 when invalid (a day the month lacks, a weekday not
 * the date's, a field out of range) or before 1970. */
int64_t corio__http_parse_date(const char *s);

#endif
