// The seeds' client: Go's net/http HTTP/2 client (TLS, the standard library's bundled HTTP/2)
// with WORKERS goroutines each making REQUESTS POSTs of a small JSON body over one
// connection. Each reply is decoded with json.NewDecoder(resp.Body).Decode and the body then
// closed without being read to EOF, which is what makes Go 1.19 reset streams whose
// END_STREAM has not arrived yet.
//
// Usage: main URL CACERT [WORKERS [REQUESTS]]   (exit 1 if any request failed)
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

func main() {
	url, cafile := os.Args[1], os.Args[2]
	workers, requests := 100, 100
	if len(os.Args) > 3 {
		workers, _ = strconv.Atoi(os.Args[3])
	}
	if len(os.Args) > 4 {
		requests, _ = strconv.Atoi(os.Args[4])
	}
	pem, err := os.ReadFile(cafile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	var failed int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < requests; i++ {
				resp, err := client.Post(url, "application/json", bytes.NewReader([]byte(`{"hello":"h2kit"}`)))
				if err != nil {
					atomic.AddInt64(&failed, 1)
					continue
				}
				var v map[string]interface{}
				if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
					atomic.AddInt64(&failed, 1)
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "%d requests failed\n", failed)
		os.Exit(1)
	}
}
