// bench/peers/go/httpc: go-httpc, the Go net/http client peer of corio-bench's `http_client`
// and `https_client` (bench/b_http_client.c). Same command line and output as the libcurl
// and aiohttp peers (bench/peers/c/curl_multi.c, bench/peers/python/aiohttp_client.py):
//
//	go-httpc URL N SECS [CAFILE]
//
// N goroutines share one http.Client, each fetching URL (client.Get, the whole body read
// with io.ReadAll, closed) again and again until SECS seconds have passed; a request under
// way then is finished. For an https:// URL, CAFILE is the CA to trust: the only root of the
// client's tls.Config (the certificate and its name are verified, crypto/tls's defaults).
// Prints one line:
//
//	requests=<completed with status 200 and a body> secs=<elapsed> errors=<failed requests>
//
// and the first error, if any, on stderr. Exit status 0 once it has printed that line (the
// benchmark checks errors=0), 1 when CAFILE cannot be used, 2 on bad arguments.
//
// The Transport is set up as corio's client and the other peers are: up to N connections to
// the host, all kept alive (MaxIdleConnsPerHost defaults to 2, which would close most of
// them after each response), HTTP/1.1 only (an empty TLSNextProto: net/http would offer
// HTTP/2 over TLS), no proxy from the environment (a zero Transport has none). Everything
// else is net/http's default, gzip negotiation included. GOMAXPROCS is the environment's
// (corio-bench sets GOMAXPROCS=1: one thread runs Go code, as corio's client is one loop;
// unset, it is the number of CPUs this process may run on).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"corio.bench/peers/serve"
)

const usage = "usage: go-httpc URL N SECS [CAFILE]"

func badArgs(why string) {
	serve.BadArgs("go-httpc", usage, why)
}

type counts struct {
	done, errors uint64
	firstErr     string
	_            [64]byte // one cache line apart: each goroutine writes its own
}

func fetchLoop(c *http.Client, url string, end time.Time, n *counts) {
	for time.Now().Before(end) {
		resp, err := c.Get(url)
		if err != nil {
			n.fail(err.Error())
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			n.fail(err.Error())
		case resp.StatusCode != http.StatusOK || len(body) == 0:
			n.fail(fmt.Sprintf("status %d, %d body bytes", resp.StatusCode, len(body)))
		default:
			n.done++
		}
	}
}

func (n *counts) fail(why string) {
	if n.errors == 0 {
		n.firstErr = why
	}
	n.errors++
}

func main() {
	args := os.Args[1:]
	if len(args) != 3 && len(args) != 4 {
		badArgs("wrong number of arguments")
	}
	url := args[0]
	conns, err := strconv.Atoi(args[1])
	if err != nil || conns < 1 {
		badArgs(fmt.Sprintf("N must be an integer >= 1, not %q", args[1]))
	}
	secs, err := strconv.ParseFloat(args[2], 64)
	if err != nil || !(secs > 0) || secs > 1e6 {
		badArgs(fmt.Sprintf("SECS must be a number > 0, not %q", args[2]))
	}
	if _, err := http.NewRequest(http.MethodGet, url, nil); err != nil {
		badArgs(fmt.Sprintf("bad URL: %v", err))
	}

	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	if len(args) == 4 {
		pem, err := os.ReadFile(args[3])
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-httpc: %v\n", err)
			os.Exit(1)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(os.Stderr, "go-httpc: %s: no PEM certificate in it\n", args[3])
			os.Exit(1)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	client := &http.Client{Transport: tr}

	per := make([]counts, conns) // one each: no shared counter on the hot path
	var wg sync.WaitGroup
	t0 := time.Now()
	end := t0.Add(time.Duration(secs * float64(time.Second)))
	wg.Add(conns)
	for i := range per {
		go func(n *counts) {
			fetchLoop(client, url, end, n)
			wg.Done()
		}(&per[i])
	}
	wg.Wait()
	elapsed := time.Since(t0)

	var total counts
	for i := range per {
		total.done += per[i].done
		if per[i].errors > 0 && total.errors == 0 {
			total.firstErr = per[i].firstErr
		}
		total.errors += per[i].errors
	}
	fmt.Printf("requests=%d secs=%.6f errors=%d\n", total.done, elapsed.Seconds(), total.errors)
	if total.errors > 0 {
		fmt.Fprintf(os.Stderr, "go-httpc: %d errors, the first: %s\n", total.errors,
			total.firstErr)
	}
	tr.CloseIdleConnections()
}
