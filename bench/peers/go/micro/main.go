// bench/peers/go/micro: go-micro, the Go peer of corio-bench's micro benchmarks `switch`,
// `chan` and `spawn` (bench/b_switch.c, b_chan.c, b_spawn.c): goroutines, channels and the
// scheduler measured in the same shapes as corio's tasks.
//
//	go-micro MODE N [CAP] [--inflight K]
//
//	yield N          two goroutines, started together, each calling runtime.Gosched N
//	                 times; result = elapsed / (2 N)
//	chan N CAP       a producer goroutine sends the ints 1..N into make(chan int, CAP)
//	                 and closes it, a consumer goroutine receives them all (CAP 0 is Go's
//	                 unbuffered channel, a rendezvous); result = elapsed / N. The
//	                 consumer sums what it got: a wrong sum is a failed run (exit 1)
//	spawn N          start one goroutine that does nothing but signal a done channel,
//	                 wait for it, N times; result = elapsed / N
//	spawn-batch N    start 1000 goroutines that do nothing but sync.WaitGroup.Done, wait
//	                 for all of them, N/1000 times (at least once); result = elapsed / the
//	                 goroutines started (= N when N is a multiple of 1000)
//
// The clock runs from starting the goroutines until the last one has been waited for. Each
// timed run follows an untimed warm-up of a tenth of its size in the same process. Prints
// exactly one line on stdout, the nanoseconds per operation as a decimal number (e.g.
// `97.31`), and nothing else. Exit status 0; 1 when a run failed (a wrong sum, the in-flight
// sockets could not be made: the reason on stderr); 2 on bad arguments (usage on stderr).
//
// GOMAXPROCS is the environment's: corio-bench sets GOMAXPROCS=1 to match corio's one loop
// per thread (with more Ps, the two yielding goroutines would each spin on a P of their own,
// which is no switch at all, and the channel's ends would wake each other across threads).
//
// --inflight K (default 0): the benchmarks measure every hot path idle and with I/O in flight
// (for corio: 1000 parked receives and a timer), because a server is never idle. Here that is
// K goroutines each parked in a Read of its own socket that nobody ever writes to, and one
// goroutine in time.Sleep(60 s): one armed timer on the scheduler's timer heap, which it
// checks on every turn. Each socket is one end of an AF_UNIX stream socketpair created
// non-blocking and handed to net.FileConn, which registers it with the runtime's netpoller
// (epoll): Read then parks the goroutine in the netpoller, holding no thread, as a Go
// server's idle connections do (a blocking fd read with syscall.Read would instead hold an
// OS thread per read, and the measurement would be of something no Go program does). Every
// goroutine says it is ready just before its Read or Sleep; once all have, a 10 ms sleep
// lets each get from there into the netpoller or the timer heap before the clock starts
// (with one P they already are: nothing runs between the signal and the park). The 2K+
// descriptors need RLIMIT_NOFILE above the usual soft limit of 1024: the soft limit is raised
// to the hard one at start. Both ends of every pair stay open until exit.
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"corio.bench/peers/serve"
)

const batch = 1000

const usage = "usage: go-micro MODE N [CAP] [--inflight K]\n" +
	"  MODE N: yield N | chan N CAP | spawn N | spawn-batch N"

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-micro: "+format+"\n", a...)
	os.Exit(1)
}

func badArgs(why string) {
	serve.BadArgs("go-micro", usage, why)
}

// ---- the in-flight state -------------------------------------------------------------------

// Kept here so that nothing is collected (no finalizer closes an fd) while measuring.
var (
	inflightConns []net.Conn
	inflightPeers []int
)

// raiseNofile lifts the soft limit on descriptors to the hard one.
func raiseNofile() {
	var lim syscall.Rlimit

	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) // what is left is reported by socketpair
	}
}

// parkReads leaves k goroutines parked in the netpoller, each in a Read of its own socket,
// and one asleep on a timer, and returns once they are parked.
func parkReads(k int) error {
	var ready sync.WaitGroup

	for i := 0; i < k; i++ {
		fds, err := syscall.Socketpair(syscall.AF_UNIX,
			syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socketpair %d of %d: %v", i+1, k, err)
		}
		f := os.NewFile(uintptr(fds[0]), "inflight")
		// net.FileConn dups the fd, keeps the dup non-blocking and registers it with the
		// netpoller; the original is closed right after.
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			syscall.Close(fds[1])
			return fmt.Errorf("net.FileConn %d of %d: %v", i+1, k, err)
		}
		inflightConns = append(inflightConns, c)
		inflightPeers = append(inflightPeers, fds[1])
		ready.Add(1)
		go func(c net.Conn) {
			var b [64]byte

			ready.Done()
			c.Read(b[:]) // parked until exit: nothing is written to the other end
		}(c)
	}
	ready.Add(1)
	go func() {
		ready.Done()
		time.Sleep(60 * time.Second)
	}()
	ready.Wait()
	time.Sleep(10 * time.Millisecond)
	return nil
}

// ---- the modes: each returns the elapsed time of one run -----------------------------------

func yieldPair(n uint64) time.Duration {
	var wg sync.WaitGroup

	t0 := time.Now()
	wg.Add(2)
	for g := 0; g < 2; g++ {
		go func() {
			for i := uint64(0); i < n; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	return time.Since(t0)
}

func transfer(capacity int, n uint64) time.Duration {
	var wg sync.WaitGroup
	var sum, got uint64

	ch := make(chan int, capacity)
	t0 := time.Now()
	wg.Add(2)
	go func() {
		for i := 1; i <= int(n); i++ {
			ch <- i
		}
		close(ch)
		wg.Done()
	}()
	go func() {
		var s, c uint64

		for v := range ch {
			s += uint64(v)
			c++
		}
		sum, got = s, c
		wg.Done()
	}()
	wg.Wait()
	d := time.Since(t0)
	if got != n || sum != n*(n+1)/2 {
		fail("chan: capacity %d: received %d items summing to %d, expected %d summing to %d",
			capacity, got, sum, n, n*(n+1)/2)
	}
	return d
}

// spawnJoin starts a goroutine and waits for it, n times. The goroutine's send on the
// unbuffered done channel meets main's receive: its "return value".
func spawnJoin(n uint64) time.Duration {
	done := make(chan struct{})

	t0 := time.Now()
	for i := uint64(0); i < n; i++ {
		go func() { done <- struct{}{} }()
		<-done
	}
	return time.Since(t0)
}

func noop(wg *sync.WaitGroup) {
	wg.Done()
}

// spawnGather starts batch goroutines and waits for all of them, batches times.
func spawnGather(batches uint64) time.Duration {
	var wg sync.WaitGroup

	t0 := time.Now()
	for b := uint64(0); b < batches; b++ {
		wg.Add(batch)
		for i := 0; i < batch; i++ {
			go noop(&wg)
		}
		wg.Wait()
	}
	return time.Since(t0)
}

// ---- the command line ----------------------------------------------------------------------

func max1(v uint64) uint64 {
	if v < 1 {
		return 1
	}
	return v
}

// count parses a decimal integer in [min, max].
func count(s, what string, min, max uint64) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v < min || v > max {
		badArgs(fmt.Sprintf("%s must be an integer in %d..%d, not %q", what, min, max, s))
	}
	return v
}

// splitInflight takes --inflight K (or --inflight=K) out of args wherever it stands.
func splitInflight(args []string) (rest []string, k int) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--inflight":
			if i+1 >= len(args) {
				badArgs("--inflight needs a count")
			}
			i++
			k = int(count(args[i], "--inflight", 0, 1<<20))
		case len(a) > 11 && a[:11] == "--inflight=":
			k = int(count(a[11:], "--inflight", 0, 1<<20))
		default:
			rest = append(rest, a)
		}
	}
	return rest, k
}

func main() {
	args, k := splitInflight(os.Args[1:])
	if len(args) < 2 {
		badArgs("MODE and N are needed")
	}
	// N up to 2^32: chan's sum 1 + ... + N must fit in 64 bits.
	mode, n := args[0], count(args[1], "N", 1, 1<<32)
	nargs := 2
	if mode == "chan" {
		nargs = 3
	}
	if len(args) != nargs {
		badArgs(fmt.Sprintf("wrong number of arguments for %q", mode))
	}

	// Arguments first, so that bad ones cost no sockets; then one warm-up and one timed run.
	var run func(n uint64) time.Duration
	ops := func(n uint64) uint64 { return n }
	switch mode {
	case "yield":
		run = yieldPair
		ops = func(n uint64) uint64 { return 2 * n }
	case "chan":
		capacity := int(count(args[2], "CAP", 0, 1<<30))
		run = func(n uint64) time.Duration { return transfer(capacity, n) }
	case "spawn":
		run = spawnJoin
	case "spawn-batch":
		run = func(n uint64) time.Duration { return spawnGather(max1(n / batch)) }
		ops = func(n uint64) uint64 { return max1(n/batch) * batch }
	default:
		badArgs(fmt.Sprintf("unknown MODE %q", mode))
	}
	raiseNofile()
	if k > 0 {
		if err := parkReads(k); err != nil {
			fail("--inflight %d: %v", k, err)
		}
	}
	run(max1(n / 10))
	d := run(n)
	fmt.Printf("%.2f\n", float64(d.Nanoseconds())/float64(ops(n)))
}
