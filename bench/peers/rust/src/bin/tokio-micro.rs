//! bench/peers/rust/src/bin/tokio-micro.rs: the tokio peer of corio-bench's micro-benchmarks
//! (switch/yield: b_switch.c, channel: b_chan.c, spawn: b_spawn.c), on an idle runtime or
//! with I/O in flight, in the same shapes as corio's own benchmarks and the Go peer
//! (bench/peers/go/micro/).
//!
//!     tokio-micro MODE N [CAP] [--inflight K] [--flavor current|multi] [--threads T]
//!
//! MODE is one of
//!   yield        two tasks each call tokio::task::yield_now() N times; ns per yield
//!                (elapsed / 2N)
//!   chan CAP     a producer task sends 1..N through tokio::sync::mpsc::channel(CAP), a
//!                consumer task receives them all; ns per item. CAP >= 1: tokio has no
//!                rendezvous channel, so capacity 0 is a usage error (no peer for it).
//!   spawn        spawn a task that does nothing and await its JoinHandle, N times; ns per task
//!   spawn-batch  spawn 1000 such tasks, await the 1000 JoinHandles, N/1000 times (at least
//!                once); ns per task (elapsed / the number of tasks spawned, N when N is a
//!                multiple of 1000)
//! --inflight K (default 0): first K AF_UNIX socket pairs (UnixStream::pair), each with a task
//!   parked in a read of one end (nothing is ever written), and one task sleeping 60 s (an
//!   armed timer): a runtime with I/O in flight, as a server's always is. RLIMIT_NOFILE is
//!   raised to its hard limit for the 2K descriptors.
//! --flavor current (default): a current_thread runtime; multi: a multi_thread runtime with
//!   --threads T workers (default 1; T must be 1 with current).
//!
//! Prints one line on stdout, the nanoseconds per operation (e.g. `97.3`), and nothing else;
//! errors: a message on stderr and status 1; usage errors: status 2.
//!
//! Why it is done this way:
//! - The whole benchmark runs in a task spawned on the runtime, never in block_on's own
//!   future: with the multi_thread flavor block_on runs on the calling thread, outside the
//!   workers, and every spawn/join or channel hand-off would then cross threads.
//! - A run of N/10 operations, untimed, comes first (the same mode; for chan a fresh
//!   channel), as corio's benchmarks warm up.
//! - The in-flight tasks count themselves just before their read; the read is polled in the
//!   same poll as the count, so once all K have counted they are all parked in the driver.
//!   A 10 ms sleep follows (the timer driver and the I/O driver each take a turn) before the
//!   warm-up and the timed run.
//! - tokio 1.24's yield_now defers the task until the runtime has polled its driver (that is
//!   tokio's own design: a yielding task cannot starve I/O), so the yield figure includes
//!   tokio's driver polls, as corio's includes its loop's.
//! - The chan consumer checks the count and the sum of what it received: a wrong transfer is
//!   an error (status 1), never a figure.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corio_peers::{die, parse_num, runtime, usage_error};
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const PROG: &str = "tokio-micro";
const USAGE: &str = "MODE N [CAP] [--inflight K] [--flavor current|multi] [--threads T]\n\
    MODE: yield | chan (then CAP >= 1) | spawn | spawn-batch";
const BATCH: u64 = 1000;

#[derive(Clone, Copy)]
enum Mode {
    Yield,
    Chan(usize),
    Spawn,
    SpawnBatch,
}

struct Args {
    mode: Mode,
    n: u64,
    inflight: usize,
    multi: bool,
    threads: usize,
}

fn usage(msg: &str) -> ! {
    usage_error(PROG, msg, USAGE)
}

fn parse_args() -> Args {
    let mut pos: Vec<String> = Vec::new();
    let mut inflight = 0usize;
    let mut multi = false;
    let mut threads: Option<usize> = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        // Options take their value as the next argument or after '='.
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |opt: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .unwrap_or_else(|| usage(&format!("{opt} needs a value")))
        };
        match name.as_str() {
            "--inflight" => {
                inflight = parse_num(PROG, USAGE, "--inflight", &value("--inflight"), 0, 1 << 20)
            }
            "--flavor" => {
                multi = match value("--flavor").as_str() {
                    "current" => false,
                    "multi" => true,
                    f => usage(&format!("--flavor is current or multi, not '{f}'")),
                }
            }
            "--threads" => {
                threads = Some(parse_num(PROG, USAGE, "--threads", &value("--threads"), 1, 1024))
            }
            "-h" | "--help" => {
                println!("usage: {PROG} {USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with("--") => usage(&format!("unknown option '{s}'")),
            _ => pos.push(a),
        }
    }
    if pos.len() < 2 {
        usage("");
    }
    let n = parse_num(PROG, USAGE, "N", &pos[1], 1u64, u64::MAX / 4);
    let (mode, want) = match pos[0].as_str() {
        "yield" => (Mode::Yield, 2),
        "spawn" => (Mode::Spawn, 2),
        "spawn-batch" => (Mode::SpawnBatch, 2),
        "chan" => {
            let cap = match pos.get(2) {
                Some(s) if s == "0" => usage(
                    "chan: tokio's mpsc channel has no capacity 0 (no rendezvous channel)",
                ),
                Some(s) => parse_num(PROG, USAGE, "CAP", s, 1usize, 1 << 24),
                None => usage("chan needs CAP after N"),
            };
            (Mode::Chan(cap), 3)
        }
        m => usage(&format!("unknown MODE '{m}'")),
    };
    if pos.len() != want {
        usage(&format!("unexpected argument '{}'", pos[want]));
    }
    let threads = threads.unwrap_or(1);
    if !multi && threads != 1 {
        usage("--threads T > 1 needs --flavor multi (current_thread is one thread)");
    }
    Args { mode, n, inflight, multi, threads }
}

/// Raises the soft limit on descriptors to the hard one (--inflight K needs 2K of them).
fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

async fn join<T>(h: JoinHandle<T>) -> T {
    h.await.unwrap_or_else(|e| die(PROG, &format!("a task failed: {e}")))
}

/// K tasks parked in a read of an AF_UNIX socket pair and one task sleeping 60 s; returns
/// once all of them are parked.
async fn park_inflight(k: usize) {
    let parked = Arc::new(AtomicUsize::new(0));
    for _ in 0..k {
        let (mut a, b) = UnixStream::pair()
            .unwrap_or_else(|e| die(PROG, &format!("--inflight {k}: socketpair: {e}")));
        let parked = parked.clone();
        tokio::spawn(async move {
            let _peer = b; // kept open: the read never sees EOF
            let mut byte = [0u8; 1];
            parked.fetch_add(1, Ordering::Release);
            let _ = a.read(&mut byte).await;
        });
    }
    tokio::spawn(tokio::time::sleep(Duration::from_secs(60)));
    while parked.load(Ordering::Acquire) < k {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// One run of `mode` over `n` operations: the elapsed time and the number of operations.
async fn run(mode: Mode, n: u64) -> (Duration, u64) {
    match mode {
        Mode::Yield => {
            let t0 = Instant::now();
            let yielder = || {
                tokio::spawn(async move {
                    for _ in 0..n {
                        tokio::task::yield_now().await;
                    }
                })
            };
            let (a, b) = (yielder(), yielder());
            join(a).await;
            join(b).await;
            (t0.elapsed(), 2 * n)
        }
        Mode::Chan(cap) => {
            let t0 = Instant::now();
            let (tx, mut rx) = mpsc::channel::<u64>(cap);
            let producer = tokio::spawn(async move {
                for i in 1..=n {
                    if tx.send(i).await.is_err() {
                        die(PROG, "chan: the receiver is gone");
                    }
                }
            });
            let consumer = tokio::spawn(async move {
                let (mut got, mut sum) = (0u64, 0u64);
                while let Some(v) = rx.recv().await {
                    got += 1;
                    sum = sum.wrapping_add(v);
                }
                (got, sum)
            });
            join(producer).await;
            let (got, sum) = join(consumer).await;
            let elapsed = t0.elapsed();
            let want = (n as u128 * (n as u128 + 1) / 2) as u64;
            if got != n || sum != want {
                die(PROG, &format!("chan: received {got} items summing to {sum}, sent {n} summing to {want}"));
            }
            (elapsed, n)
        }
        Mode::Spawn => {
            let t0 = Instant::now();
            for _ in 0..n {
                join(tokio::spawn(async {})).await;
            }
            (t0.elapsed(), n)
        }
        Mode::SpawnBatch => {
            let rounds = (n / BATCH).max(1);
            let mut handles = Vec::with_capacity(BATCH as usize);
            let t0 = Instant::now();
            for _ in 0..rounds {
                for _ in 0..BATCH {
                    handles.push(tokio::spawn(async {}));
                }
                for h in handles.drain(..) {
                    join(h).await;
                }
            }
            (t0.elapsed(), rounds * BATCH)
        }
    }
}

async fn bench(args: Args) -> f64 {
    if args.inflight > 0 {
        park_inflight(args.inflight).await;
    }
    let warm = args.n / 10;
    if warm > 0 {
        run(args.mode, warm).await;
    }
    let (elapsed, ops) = run(args.mode, args.n).await;
    elapsed.as_nanos() as f64 / ops as f64
}

fn main() {
    let args = parse_args();
    raise_nofile();
    let rt = runtime(PROG, args.multi, args.threads);
    let ns = rt.block_on(async move { join(tokio::spawn(bench(args))).await });
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{ns:.1}").and_then(|_| out.flush()).is_err() {
        die(PROG, "cannot write the result to stdout");
    }
    // Out at once: dropping the runtime would first cancel the K parked tasks and the timer.
    std::process::exit(0);
}
