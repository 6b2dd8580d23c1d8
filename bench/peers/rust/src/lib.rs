//! bench/peers/rust/src/lib.rs: what the four Rust peers of corio-bench share (the programs
//! are in src/bin/): the exit statuses of the peer contract (errors: a message on stderr and
//! status 1; usage errors: status 2), building a tokio runtime of either flavor, the
//! `PORT [THREADS]` arguments of the servers, and waiting for SIGTERM or SIGINT.
//!
//! The signal wait is a small hand-written future over tokio's two signal streams instead of
//! `tokio::select!`, which would need tokio's "macros" feature and with it a proc-macro build
//! of syn (build time, nothing else). std's `poll_fn` would do it too, but is stable only
//! from Rust 1.64 and Debian 12 has 1.63.

use std::future::Future;
use std::pin::Pin;
use std::process;
use std::task::{Context, Poll};

use tokio::runtime::{Builder, Runtime};
use tokio::signal::unix::{signal, Signal, SignalKind};

/// An error: `PROG: MSG` on stderr, exit status 1.
pub fn die(prog: &str, msg: &str) -> ! {
    eprintln!("{prog}: {msg}");
    process::exit(1)
}

/// A usage error: `PROG: MSG` and the usage line on stderr, exit status 2.
pub fn usage_error(prog: &str, msg: &str, usage: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("{prog}: {msg}");
    }
    eprintln!("usage: {prog} {usage}");
    process::exit(2)
}

/// A tokio runtime with its I/O (signals included) and time drivers: a current_thread one
/// when `multi` is false (`threads` is then 1), else a multi_thread one with `threads`
/// workers.
pub fn runtime(prog: &str, multi: bool, threads: usize) -> Runtime {
    let built = if multi {
        Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    } else {
        Builder::new_current_thread().enable_all().build()
    };
    built.unwrap_or_else(|e| die(prog, &format!("cannot start the tokio runtime: {e}")))
}

/// A decimal integer argument within [min, max], or a usage error naming it.
pub fn parse_num<T>(prog: &str, usage: &str, what: &str, s: &str, min: T, max: T) -> T
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match s.parse::<T>() {
        Ok(v) if v >= min && v <= max => v,
        _ => usage_error(
            prog,
            &format!("{what} must be an integer from {min} to {max}, not '{s}'"),
            usage,
        ),
    }
}

/// The servers' arguments, `PORT [THREADS]` (THREADS defaults to 1, as with the C peer
/// peer-echo_epoll): the port and the number of threads.
pub fn server_args(prog: &str) -> (u16, usize) {
    const USAGE: &str = "PORT [THREADS]   (listens on 127.0.0.1:PORT until SIGTERM/SIGINT)";
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.len() > 2 {
        usage_error(prog, "", USAGE);
    }
    let port = parse_num(prog, USAGE, "PORT", &args[0], 1u16, u16::MAX);
    let threads = match args.get(1) {
        Some(s) => parse_num(prog, USAGE, "THREADS", s, 1usize, 1024),
        None => 1,
    };
    (port, threads)
}

/// SIGTERM and SIGINT, caught from the moment this is made (make it before listening, so
/// that a SIGTERM sent as soon as the port answers is never the default one that kills).
/// Must be made inside the runtime.
pub struct Shutdown {
    term: Signal,
    int: Signal,
}

impl Shutdown {
    pub fn new(prog: &str) -> Shutdown {
        let catch = |kind: SignalKind, name: &str| {
            signal(kind).unwrap_or_else(|e| die(prog, &format!("cannot catch {name}: {e}")))
        };
        Shutdown {
            term: catch(SignalKind::terminate(), "SIGTERM"),
            int: catch(SignalKind::interrupt(), "SIGINT"),
        }
    }
}

/// Awaiting a Shutdown returns once SIGTERM or SIGINT has arrived.
impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Both are polled each time, so that both register their wakers.
        let term = self.term.poll_recv(cx).is_ready();
        let int = self.int.poll_recv(cx).is_ready();
        if term || int {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
