//! bench/peers/rust/src/bin/tokio-echo.rs: the tokio echo server, a peer of corio-bench's
//! echo benchmark beside bench/peers/c/echo_epoll.c, with the same command line:
//!
//!     tokio-echo PORT [THREADS]
//!
//! Listens on 127.0.0.1:PORT and echoes every byte back on every connection (TCP_NODELAY)
//! until SIGTERM or SIGINT, then exits 0. THREADS 1 (the default) is a current_thread
//! runtime, THREADS > 1 a multi_thread runtime with THREADS workers. Errors (the port in
//! use, ...): a message on stderr and status 1; usage errors: status 2.
//!
//! It is the server a tokio user writes: one listener, one accept loop, one task per
//! connection reading into a 16 KiB buffer (echo_epoll's size) and writing it all back
//! (write_all) before reading again. The multi_thread runtime spreads the connection tasks
//! over its workers (echo_epoll has a SO_REUSEPORT listener per thread instead; tokio's
//! idiom is the single listener). The signals are caught before the port is bound, so that a
//! SIGTERM sent as soon as the port answers ends it with status 0.

use std::time::Duration;

use corio_peers::{die, runtime, server_args, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PROG: &str = "tokio-echo";
const BUF: usize = 16384;

async fn echo(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; BUF];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if s.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn serve(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                tokio::spawn(echo(s));
            }
            Err(e) => {
                // EMFILE and the like: said, and retried a little later rather than spun.
                eprintln!("{PROG}: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn main() {
    let (port, threads) = server_args(PROG);
    let rt = runtime(PROG, threads > 1, threads);
    rt.block_on(async {
        let shutdown = Shutdown::new(PROG);
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| die(PROG, &format!("listen on 127.0.0.1:{port}: {e}")));
        tokio::spawn(serve(listener));
        shutdown.await;
    });
    // Out at once, without waiting for the connections' tasks to be dropped.
    std::process::exit(0);
}
