package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ingress-controller/internal/dnssync"
)

var testKey = Key{Name: "ic-test.", Algorithm: dns.HmacSHA256, Secret: secret}

func TestUpdateMessage(t *testing.T) {
	held := dnssync.OwnerText("a") + ",lb=x"
	msgs, err := updates(zone, []dnssync.Change{
		{Op: dnssync.Create, Name: "shop.example.test.", Owner: dnssync.OwnerText("a"), TTL: 60, Set: []dnssync.RRset{
			{Type: dnssync.TypeA, Data: []string{"192.0.2.1"}}, {Type: dnssync.TypeAAAA, Data: []string{"2001:db8::1"}},
		}},
		{Op: dnssync.Update, Name: "www.example.test.", Held: held, Owner: dnssync.OwnerText("a"), TTL: 30,
			Remove: []dnssync.Type{dnssync.TypeA}, Set: []dnssync.RRset{{Type: dnssync.TypeCNAME, Data: []string{"shop.example.test."}}}},
		{Op: dnssync.Update, Name: "cart.example.test.", Held: dnssync.OwnerText("a"), TTL: 60,
			Set: []dnssync.RRset{{Type: dnssync.TypeA, Data: []string{"192.0.2.2", "192.0.2.3"}}}},
		{Op: dnssync.Delete, Name: "old.example.test.", Held: dnssync.OwnerText("a"), Remove: []dnssync.Type{dnssync.TypeA, dnssync.TypeAAAA}},
	})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("updates: %d messages, %v; want 1", len(msgs), err)
	}
	m := msgs[0]
	if m.Opcode != dns.OpcodeUpdate || len(m.Question) != 1 || m.Question[0].Name != zone || m.Question[0].Qtype != dns.TypeSOA {
		t.Errorf("not an UPDATE of %s: %v", zone, m.MsgHdr)
	}
	wantPrereq := []string{
		// Create: neither the name nor its owner name is in use.
		"shop.example.test. 0 NONE ANY",
		"_ic-owner.shop.example.test. 0 NONE ANY",
		// Update and Delete: the owner record is exactly the one read.
		`_ic-owner.www.example.test. 0 IN TXT "` + held + `"`,
		`_ic-owner.cart.example.test. 0 IN TXT "heritage=ingress-controller,owner=a"`,
		`_ic-owner.old.example.test. 0 IN TXT "heritage=ingress-controller,owner=a"`,
	}
	wantUpdate := []string{
		"shop.example.test. 60 IN A 192.0.2.1",
		"shop.example.test. 60 IN AAAA 2001:db8::1",
		`_ic-owner.shop.example.test. 60 IN TXT "heritage=ingress-controller,owner=a"`,
		// Addresses go before the CNAME comes.
		"www.example.test. 0 CLASS255 A",
		"www.example.test. 0 CLASS255 CNAME",
		"www.example.test. 30 IN CNAME shop.example.test.",
		"_ic-owner.www.example.test. 0 CLASS255 TXT",
		`_ic-owner.www.example.test. 30 IN TXT "heritage=ingress-controller,owner=a"`,
		// The owner record stays as it is.
		"cart.example.test. 0 CLASS255 A",
		"cart.example.test. 60 IN A 192.0.2.2",
		"cart.example.test. 60 IN A 192.0.2.3",
		"old.example.test. 0 CLASS255 A",
		"old.example.test. 0 CLASS255 AAAA",
		"_ic-owner.old.example.test. 0 CLASS255 TXT",
	}
	if got := rrStrings(m.Answer); !slices.Equal(got, wantPrereq) {
		t.Errorf("prerequisites:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantPrereq, "\n"))
	}
	if got := rrStrings(m.Ns); !slices.Equal(got, wantUpdate) {
		t.Errorf("updates:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantUpdate, "\n"))
	}
	if _, err := updates(zone, []dnssync.Change{{Op: dnssync.Create, Name: "x.example.test.", Set: []dnssync.RRset{{Type: dnssync.TypeA, Data: []string{"2001:db8::1"}}}}}); err == nil {
		t.Error("updates wrote an IPv6 address into an A record")
	}
}

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.TrimSpace(strings.Join(strings.Fields(rr.String()), " ")))
	}
	return out
}

// TestUpdatesSplit checks that changes too big for one message go in
// several that each fit, signed, and that no name is split.
func TestUpdatesSplit(t *testing.T) {
	var changes []dnssync.Change
	for i := range 3000 {
		changes = append(changes, dnssync.Change{
			Op: dnssync.Create, Name: fmt.Sprintf("a-rather-long-load-balancer-name-%04d.example.test.", i), Owner: dnssync.OwnerText("cluster-a"), TTL: 60,
			Set: []dnssync.RRset{{Type: dnssync.TypeA, Data: []string{"192.0.2.1", "192.0.2.2"}}, {Type: dnssync.TypeAAAA, Data: []string{"2001:db8::1"}}},
		})
	}
	msgs, err := updates(zone, changes)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 2 {
		t.Fatalf("3000 names in %d message", len(msgs))
	}
	in := map[string]int{} // name -> message
	key := Key{Name: strings.Repeat("k", 60) + ".", Algorithm: dns.HmacSHA512, Secret: secret}
	for i, m := range msgs {
		// Full: the next change would not have fit.
		if size := m.Len(); i < len(msgs)-1 && size < maxUpdateSize-500 {
			t.Errorf("message %d of %d takes %d bytes; it had room for more", i+1, len(msgs), size)
		}
		m.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
		out, _, err := dns.TsigGenerate(m, key.Secret, "", false)
		if err != nil || len(out) > dns.MaxMsgSize {
			t.Errorf("message %d: %d bytes signed, %v", i, len(out), err)
		}
		for _, rr := range slices.Concat(m.Answer, m.Ns) {
			name := strings.TrimPrefix(rr.Header().Name, dnssync.OwnerLabel+".")
			if j, ok := in[name]; ok && j != i {
				t.Fatalf("%s is split between messages %d and %d", name, j, i)
			}
			in[name] = i
		}
	}
	if len(in) != len(changes) {
		t.Errorf("%d names in the messages, want %d", len(in), len(changes))
	}
	t.Logf("3000 names in %d messages", len(msgs))
}

func TestResponseError(t *testing.T) {
	for _, tc := range []struct {
		rcode   int
		tsig    uint16
		is      error
		message string
	}{
		{dns.RcodeNXRrset, 0, dnssync.ErrConflict, "update of zone example.test. at ns:53: NXRRSET: a prerequisite failed: the zone changed since it was read"},
		{dns.RcodeYXDomain, 0, dnssync.ErrConflict, "YXDOMAIN: a prerequisite failed"},
		{dns.RcodeYXRrset, 0, dnssync.ErrConflict, "YXRRSET: a prerequisite failed"},
		{dns.RcodeNameError, 0, dnssync.ErrConflict, "NXDOMAIN: a prerequisite failed"},
		{dns.RcodeNotAuth, dns.RcodeBadSig, ErrKey, "NOTAUTH (TSIG BADSIG): the secret or algorithm of key k. differs from the server's"},
		{dns.RcodeNotAuth, dns.RcodeBadKey, ErrKey, "NOTAUTH (TSIG BADKEY): the server does not know key k."},
		{dns.RcodeNotAuth, dns.RcodeBadTime, ErrKey, "NOTAUTH (TSIG BADTIME): the clocks of this host and the server differ"},
		{dns.RcodeNotAuth, 0, ErrNotAuthoritative, "NOTAUTH: the server is not authoritative for the zone"},
		{dns.RcodeRefused, 0, ErrRefused, "REFUSED: the server does not allow this key to update the zone"},
		{dns.RcodeServerFailure, 0, ErrServerFailure, "SERVFAIL: server failure; the server's log says why"},
		{dns.RcodeNotZone, 0, nil, "NOTZONE: a name is outside the zone"},
		{dns.RcodeFormatError, 0, nil, "update of zone example.test. at ns:53: FORMERR"},
	} {
		err := &ResponseError{Op: "update", Zone: zone, Server: "ns:53", Key: "k.", Rcode: tc.rcode, TSIGError: tc.tsig}
		if tc.is != nil && !errors.Is(err, tc.is) || tc.is == nil && err.Unwrap() != nil {
			t.Errorf("%s: errors.Is %v is false", err, tc.is)
		}
		if !strings.Contains(err.Error(), tc.message) {
			t.Errorf("error %q, want it to say %q", err, tc.message)
		}
	}
}

func TestNew(t *testing.T) {
	for server, want := range map[string]string{
		"127.0.0.1": "127.0.0.1:53", "[::1]": "[::1]:53", "::1": "[::1]:53", "ns.example.test:5353": "ns.example.test:5353",
	} {
		b, err := New(Options{Server: server, Key: testKey})
		if err != nil || b.server != want || b.timeout != DefaultTimeout {
			t.Errorf("New(%q): server %q, timeout %s, %v; want %q", server, b.server, b.timeout, err, want)
		}
	}
	for _, o := range []Options{{Key: testKey}, {Server: "ns"}, {Server: "ns", Key: testKey, Timeout: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%#v) succeeded", o)
		}
	}
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestSilentServer(t *testing.T) {
	addr := silentServer(t)
	plan := dnssync.Changes{Zone: zone, Names: []dnssync.Change{{Op: dnssync.Delete, Name: "shop.example.test.", Held: "x"}}}

	b, _ := New(Options{Server: addr, Key: testKey})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Read(ctx, zone)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("Read with a 300 ms deadline: %v after %s; want the deadline's error at once", err, time.Since(start))
	}

	b, _ = New(Options{Server: addr, Key: testKey, Timeout: 300 * time.Millisecond})
	start = time.Now()
	err = b.Apply(context.Background(), plan)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("Apply with a 300 ms timeout: %v after %s; want the timeout's error at once", err, time.Since(start))
	}
	t.Logf("Apply: %v", err)

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := b.Apply(ctx, plan); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply canceled: %v", err)
	}
}

// answeringServer answers every message with reply(request, its raw
// bytes).
func answeringServer(t *testing.T, reply func(req *dns.Msg) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := &dns.Conn{Conn: nc}
			p, err := c.ReadMsgHeader(nil)
			req := new(dns.Msg)
			if err == nil && req.Unpack(p) == nil {
				_, _ = c.Write(reply(req))
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestAnswerMustBeSigned: an answer that grants an update must carry the
// key's signature of this request, or it could be anyone's.
func TestAnswerMustBeSigned(t *testing.T) {
	signed := func(secret string) func(req *dns.Msg) []byte {
		return func(req *dns.Msg) []byte {
			r := new(dns.Msg)
			r.SetReply(req)
			r.SetTsig(testKey.Name, testKey.Algorithm, 300, time.Now().Unix())
			out, _, err := dns.TsigGenerate(r, secret, req.IsTsig().MAC, false)
			if err != nil {
				panic(err)
			}
			return out
		}
	}
	for _, tc := range []struct {
		name  string
		reply func(req *dns.Msg) []byte
		want  error
	}{
		{"signed with the key", signed(testKey.Secret), nil},
		{"not signed", func(req *dns.Msg) []byte {
			r := new(dns.Msg)
			r.SetReply(req)
			out, _ := r.Pack()
			return out
		}, ErrUnsigned},
		{"signed with another secret", signed("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="), ErrUnsigned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := New(Options{Server: answeringServer(t, tc.reply), Key: testKey, Timeout: 5 * time.Second})
			err := b.Apply(context.Background(), dnssync.Changes{Zone: zone, Names: []dnssync.Change{{Op: dnssync.Delete, Name: "shop.example.test.", Held: "x"}}})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Apply: %v, want %v", err, tc.want)
			}
		})
	}
}
