// bench/peers/go/process: go-process, the Go peer of corio-bench's `process`
// (bench/b_process.c): os/exec starting /bin/true and waiting for it.
//
//	go-process MODE N
//
//	seq N   exec.Command("/bin/true").Run() N times, one after the other
//	par N   16 goroutines, each running N/16 of them one after the other
//
// An untimed warm-up of N/10 (at least 16) comes first in the same process. Prints one line
// per mode on stdout, `mode=<seq|par> per_sec=<float>` (processes started and waited for
// per second), and nothing else. Exit status 0; 1 when a run failed (the reason on
// stderr); 2 on bad arguments. GOMAXPROCS is the environment's (the runtime's default: one
// P per CPU, as a Go program runs).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

const par = 16

func runOne() error {
	return exec.Command("/bin/true").Run()
}

func seq(n int) error {
	for i := 0; i < n; i++ {
		if err := runOne(); err != nil {
			return err
		}
	}
	return nil
}

func parallel(n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, par)
	for g := 0; g < par; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/par; i++ {
				if err := runOne(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func measure(mode string, n int) (float64, error) {
	fn := seq
	done := n
	if mode == "par" {
		fn = parallel
		done = n / par * par
	}
	warm := n / 10
	if warm < par {
		warm = par
	}
	if err := fn(warm); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := fn(n); err != nil {
		return 0, err
	}
	return float64(done) / time.Since(t0).Seconds(), nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-process seq|par|seq,par N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < par {
		fmt.Fprintf(os.Stderr, "go-process: N must be a number >= %d\n", par)
		os.Exit(2)
	}
	for _, mode := range strings.Split(os.Args[1], ",") {
		if mode != "seq" && mode != "par" {
			fmt.Fprintf(os.Stderr, "go-process: unknown mode %q\n", mode)
			os.Exit(2)
		}
		v, err := measure(mode, n)
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-process: %s: %v\n", mode, err)
			os.Exit(1)
		}
		fmt.Printf("mode=%s per_sec=%.1f\n", mode, v)
	}
}
