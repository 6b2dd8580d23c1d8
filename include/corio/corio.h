/* corio/corio.h: the umbrella header. Include this one. */
#ifndef CORIO_H
#define CORIO_H

#include <corio/runtime.h>
#include <corio/sync.h>
#include <corio/net.h>
#include <corio/tls.h>
#include <corio/fs.h>
#include <corio/http.h>
#include <corio/http_server.h>
#include <corio/ws.h>
#include <corio/process.h>

#endif
