// A Go net/http HTTP/2 server (TLS, the standard library's bundled HTTP/2 and its defaults:
// 250 concurrent streams) answering every request with a 4,096-byte body: the server of the
// seeds' concurrency-limit bug, for `h2kit check server`.
//
// Usage: go run main.go CERT KEY   (prints "listening PORT" once it accepts connections)
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	body := make([]byte, 4096)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/octet-stream")
		w.Write(body)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", l.Addr().(*net.TCPAddr).Port)
	srv := &http.Server{Handler: handler}
	fmt.Fprintln(os.Stderr, srv.ServeTLS(l, os.Args[1], os.Args[2]))
	os.Exit(1)
}
