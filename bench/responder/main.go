// Command responder is the benchmarks' backend: an HTTP/1.1 server that
// costs almost nothing, so that a proxy in front of it is what is measured.
// It answers every request on a connection with one prepared response (200,
// a fixed body) straight off the socket: it reads until the blank line that
// ends a request head, writes the response, and goes on. It handles
// pipelining and keep-alive; it does not read request bodies, so it is for
// GET load only.
//
//	responder -listen 127.0.0.1:8080 -size 100
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	size := flag.Int("size", 100, "response body size in bytes")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), *size)
	resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"), body...)
	fmt.Fprintln(os.Stderr, "responder listening on", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, resp)
	}
}

// serve answers each request head read from c with resp; a read that
// ends several heads gets as many responses in one write.
func serve(c net.Conn, resp []byte) {
	defer c.Close()
	buf := make([]byte, 16<<10)
	out := make([]byte, 0, 8*len(resp))
	carry := 0 // bytes of "\r\n\r\n" matched at the end of the last read
	const end = "\r\n\r\n"
	for {
		n, err := c.Read(buf)
		if n > 0 {
			out = out[:0]
			for _, b := range buf[:n] {
				switch {
				case b == end[carry]:
					carry++
				case b == '\r':
					carry = 1
				default:
					carry = 0
				}
				if carry == len(end) {
					out = append(out, resp...)
					carry = 0
				}
			}
			if len(out) > 0 {
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}
