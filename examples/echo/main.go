// Command echo runs small HTTP backends that answer with their own name, the
// host and the path they were asked for. The quick start, tests and
// benchmarks route to them.
//
//	echo NAME=ADDR [NAME=ADDR ...]
//	echo shop-web-1=127.0.0.1:9001 blog=127.0.0.1:9004
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"ingress-controller/internal/nettest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: echo NAME=ADDR [NAME=ADDR ...]")
		os.Exit(2)
	}
	var servers []*nettest.EchoServer
	for _, arg := range os.Args[1:] {
		name, addr, ok := strings.Cut(arg, "=")
		if !ok || name == "" || addr == "" {
			fmt.Fprintf(os.Stderr, "echo: %q is not NAME=ADDR\n", arg)
			os.Exit(2)
		}
		s, err := nettest.StartEcho(name, addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "echo: %s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Printf("echo %s listening on %s\n", name, s.Addr)
		servers = append(servers, s)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	for _, s := range servers {
		_ = s.Close()
	}
}
