//! bench/peers/rust/src/bin/hyper-httpc.rs: the hyper HTTP/1.1 client, a peer of
//! corio-bench's http_client benchmark (bench/b_http_client.c) beside libcurl's multi
//! interface (bench/peers/c/curl_multi.c), with the same command line and output:
//!
//!     hyper-httpc [--threads T] URL N SECS [CAFILE]
//!
//! N tasks share one hyper 0.14 Client (its pool keeps the connections alive, up to N idle
//! per host); each fetches URL again and again with HTTP/1.1 GET, reading the whole body,
//! until SECS have passed (a request started before then completes). Prints one line:
//!     requests=<completed with status 200> secs=<elapsed> errors=<failed>
//! where a failed request is one that got no response, a status other than 200, or a body
//! that broke off. A current_thread tokio runtime by default; --threads T > 1 a multi_thread
//! one with T workers. Errors: a message on stderr and status 1; usage errors: status 2.
//!
//! https is not supported: hyper 0.14 has no TLS of its own, and Debian 12's crate registry
//! has no hyper-tls or hyper-rustls to give it one. An https:// URL or a CAFILE exits 2 with
//! "https not supported" (corio-bench then reports the peer skipped for https_client).
//! The connector sets TCP_NODELAY, as the curl peer does.

use std::time::{Duration, Instant};

use corio_peers::{die, parse_num, runtime, usage_error};
use hyper::body::HttpBody;
use hyper::client::HttpConnector;
use hyper::{Body, Client, StatusCode, Uri};

const PROG: &str = "hyper-httpc";
const USAGE: &str = "[--threads T] URL N SECS [CAFILE]";

fn usage(msg: &str) -> ! {
    usage_error(PROG, msg, USAGE)
}

struct Args {
    uri: Uri,
    n: usize,
    secs: f64,
    threads: usize,
}

fn parse_args() -> Args {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 1;
    if let Some(first) = args.first().cloned() {
        if first == "--threads" || first.starts_with("--threads=") {
            let v = match first.split_once('=') {
                Some((_, v)) => v.to_string(),
                None if args.len() > 1 => args.remove(1),
                None => usage("--threads needs a value"),
            };
            args.remove(0);
            threads = parse_num(PROG, USAGE, "--threads", &v, 1usize, 1024);
        }
    }
    if args.len() != 3 && args.len() != 4 {
        usage("");
    }
    if args.len() == 4 || args[0].get(..8).map_or(false, |s| s.eq_ignore_ascii_case("https://")) {
        eprintln!("{PROG}: https not supported (hyper 0.14 has no TLS of its own, Debian has no hyper-tls)");
        std::process::exit(2);
    }
    let uri: Uri = args[0]
        .parse()
        .unwrap_or_else(|e| usage(&format!("URL '{}': {e}", args[0])));
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        usage(&format!("URL '{}' is not an http:// URL", args[0]));
    }
    let n = parse_num(PROG, USAGE, "N", &args[1], 1usize, 1 << 20);
    let secs = match args[2].parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => s,
        _ => usage(&format!("SECS must be a number of seconds > 0, not '{}'", args[2])),
    };
    Args { uri, n, secs, threads }
}

/// One task's loop: (requests answered 200 with their whole body, failed requests).
async fn fetcher(client: Client<HttpConnector>, uri: Uri, end: Instant) -> (u64, u64) {
    let (mut done, mut errors) = (0u64, 0u64);
    while Instant::now() < end {
        let ok = match client.get(uri.clone()).await {
            Ok(resp) => {
                let status_ok = resp.status() == StatusCode::OK;
                let mut body = resp.into_body();
                let mut body_ok = true;
                while let Some(chunk) = body.data().await {
                    if chunk.is_err() {
                        body_ok = false;
                        break;
                    }
                }
                status_ok && body_ok
            }
            Err(_) => false,
        };
        if ok {
            done += 1;
        } else {
            errors += 1;
        }
    }
    (done, errors)
}

fn main() {
    let args = parse_args();
    let rt = runtime(PROG, args.threads > 1, args.threads);
    let (done, errors, secs) = rt.block_on(async move {
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        let client: Client<HttpConnector, Body> =
            Client::builder().pool_max_idle_per_host(args.n).build(conn);
        let t0 = Instant::now();
        let end = t0 + Duration::from_secs_f64(args.secs);
        let tasks: Vec<_> = (0..args.n)
            .map(|_| tokio::spawn(fetcher(client.clone(), args.uri.clone(), end)))
            .collect();
        let (mut done, mut errors) = (0u64, 0u64);
        for t in tasks {
            let (d, e) = t
                .await
                .unwrap_or_else(|e| die(PROG, &format!("a task failed: {e}")));
            done += d;
            errors += e;
        }
        (done, errors, t0.elapsed().as_secs_f64())
    });
    println!("requests={done} secs={secs:.6} errors={errors}");
    std::process::exit(0);
}
