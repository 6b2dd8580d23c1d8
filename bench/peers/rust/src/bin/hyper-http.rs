//! bench/peers/rust/src/bin/hyper-http.rs: the hyper HTTP/1.1 hello server, a peer of
//! corio-bench's http_server benchmark (bench/b_http_server.c) beside corio's server, nginx
//! and h2o:
//!
//!     hyper-http PORT [THREADS]
//!
//! Listens on 127.0.0.1:PORT (HTTP/1.1, keep-alive, TCP_NODELAY) until SIGTERM or SIGINT,
//! then exits 0. `/hello` answers 200 with the body "hello world\n" (12 bytes, Content-Type
//! text/plain), as corio's server and nginx do in the benchmark (HC_HELLO_PATH and
//! HC_HELLO_BODY in bench/http_common.h); any other path 404 with an empty body. THREADS 1
//! (the default) runs hyper 0.14 on a current_thread tokio runtime, THREADS > 1 on a
//! multi_thread runtime with THREADS workers. Errors (the port in use, ...): a message on
//! stderr and status 1; usage errors: status 2.
//!
//! It is hyper's own server (Server::try_bind + make_service_fn), as a hyper user writes it,
//! HTTP/1 only (the benchmark is HTTP/1.1; no h2 upgrade). hyper adds Date and
//! Content-Length itself. The signals are caught before the port is bound, so that a
//! SIGTERM sent as soon as the port answers ends it with status 0; it then exits at once
//! (no graceful shutdown: that would wait for wrk's keep-alive connections).

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;

use corio_peers::{die, runtime, server_args, Shutdown};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Request, Response, Server, StatusCode};

const PROG: &str = "hyper-http";
const HELLO_PATH: &str = "/hello";
const HELLO_BODY: &str = "hello world\n";

async fn hello(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let mut resp = Response::new(Body::empty());
    if req.uri().path() == HELLO_PATH {
        *resp.body_mut() = Body::from(HELLO_BODY);
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    } else {
        *resp.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(resp)
}

fn main() {
    let (port, threads) = server_args(PROG);
    let rt = runtime(PROG, threads > 1, threads);
    rt.block_on(async {
        let shutdown = Shutdown::new(PROG);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let builder = Server::try_bind(&addr).unwrap_or_else(|e| {
            // hyper's error says "error creating server listener"; its source says why.
            let why = e.source().map(|s| s.to_string()).unwrap_or_else(|| e.to_string());
            die(PROG, &format!("listen on {addr}: {why}"))
        });
        let server = builder
            .http1_only(true)
            .http1_keepalive(true)
            .tcp_nodelay(true)
            .serve(make_service_fn(|_| async {
                Ok::<_, Infallible>(service_fn(hello))
            }));
        tokio::spawn(async move {
            if let Err(e) = server.await {
                die(PROG, &format!("server: {e}"));
            }
        });
        shutdown.await;
    });
    std::process::exit(0);
}
