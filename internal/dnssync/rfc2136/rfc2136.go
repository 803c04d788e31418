// Package rfc2136 is a dnssync.Backend for name servers that take dynamic
// updates (RFC 2136) signed with TSIG (RFC 8945), BIND 9 first among them.
//
// Read transfers the zone (AXFR). Apply sends the changes of a plan in one
// UPDATE message, which the server applies atomically, and in as few as
// fit only when they exceed the 64 KiB of a DNS message; a name's change is
// never split. Each change carries its precondition as prerequisites (see
// the dnssync package): "Name Is Not In Use" for the name and its owner
// name when it claims one, and the exact owner record ("RRset Exists,
// Value Dependent") when it changes or deletes one. A failed prerequisite
// (YXDOMAIN, YXRRSET, NXDOMAIN, NXRRSET) wraps dnssync.ErrConflict.
//
// Every message goes over TCP and is signed; an answer that grants
// something must be signed by the same key, or it is rejected. Errors say
// what the server refused and why: a *ResponseError wraps ErrKey,
// ErrRefused, ErrNotAuthoritative, ErrServerFailure or dnssync.ErrConflict.
package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"ingress-controller/internal/dnssync"
)

// DefaultTimeout bounds each transfer and each UPDATE message when Options
// leaves Timeout 0 and the context has no earlier deadline.
const DefaultTimeout = 10 * time.Second

// Options configure a Backend.
type Options struct {
	// Server is the primary name server, "host:port"; the port defaults
	// to 53.
	Server string
	// Key signs every message.
	Key Key
	// Timeout bounds each transfer and each UPDATE message; 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Backend reads and changes zones on one name server with one TSIG key.
type Backend struct {
	server  string
	key     Key
	timeout time.Duration
	// exchange sends one UPDATE message and returns the answer, whose
	// signature it has checked if it grants the update. A field so that
	// tests count messages.
	exchange func(ctx context.Context, m *dns.Msg) (*dns.Msg, error)
}

var _ dnssync.Backend = (*Backend)(nil)

// New returns a Backend for o.
func New(o Options) (*Backend, error) {
	server := o.Server
	if server == "" {
		return nil, errors.New("rfc2136: no server")
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	if o.Key.Name == "" || o.Key.Secret == "" || o.Key.Algorithm == "" {
		return nil, errors.New("rfc2136: the TSIG key needs a name, an algorithm and a secret")
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("rfc2136: negative timeout %s", o.Timeout)
	}
	b := &Backend{server: server, key: o.Key, timeout: o.Timeout}
	if b.timeout == 0 {
		b.timeout = DefaultTimeout
	}
	b.exchange = b.send
	return b, nil
}

// Read transfers zone and returns its records of class IN.
func (b *Backend) Read(ctx context.Context, zone string) ([]dnssync.RR, error) {
	zone = dns.CanonicalName(zone)
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	rrs, err := b.transfer(ctx, zone)
	if err != nil {
		return nil, err
	}
	out := make([]dnssync.RR, 0, len(rrs))
	for _, rr := range rrs {
		h := rr.Header()
		if h.Class != dns.ClassINET {
			continue
		}
		r := dnssync.RR{Name: h.Name, Type: dnssync.Type(h.Rrtype), TTL: h.Ttl}
		switch v := rr.(type) {
		case *dns.A:
			r.Data = v.A.String()
		case *dns.AAAA:
			r.Data = v.AAAA.String()
		case *dns.CNAME:
			r.Data = v.Target
		case *dns.TXT:
			r.Text = v.Txt
		}
		out = append(out, r)
	}
	return out, nil
}

// transfer returns the records of zone by AXFR, without the closing SOA.
func (b *Backend) transfer(ctx context.Context, zone string) ([]dns.RR, error) {
	c, err := b.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	q := new(dns.Msg)
	q.SetAxfr(zone)
	if err := c.write(q); err != nil {
		return nil, c.netError(ctx, err)
	}
	var rrs []dns.RR
	for soas := 0; soas < 2; {
		m, err := c.read(q.Id)
		if m != nil {
			if err := b.checkAnswer("transfer", zone, m); err != nil {
				return nil, err
			}
		}
		if err != nil {
			return nil, c.netError(ctx, err)
		}
		if len(m.Answer) == 0 {
			return nil, fmt.Errorf("transfer of zone %s from %s: a message without records", zone, b.server)
		}
		for _, rr := range m.Answer {
			if rr.Header().Rrtype == dns.TypeSOA {
				soas++
				if soas == 2 {
					break
				}
			} else if soas == 0 {
				return nil, fmt.Errorf("transfer of zone %s from %s: does not start with the SOA record", zone, b.server)
			}
			rrs = append(rrs, rr)
		}
	}
	return rrs, nil
}

// Apply sends changes in as few UPDATE messages as hold them, one unless
// they exceed a DNS message.
func (b *Backend) Apply(ctx context.Context, changes dnssync.Changes) error {
	zone := dns.CanonicalName(changes.Zone)
	msgs, err := updates(zone, changes.Names)
	if err != nil {
		return fmt.Errorf("update of zone %s: %w", zone, err)
	}
	for i, m := range msgs {
		if err := b.update(ctx, zone, m); err != nil {
			if len(msgs) > 1 {
				return fmt.Errorf("message %d of %d: %w", i+1, len(msgs), err)
			}
			return err
		}
	}
	return nil
}

func (b *Backend) update(ctx context.Context, zone string, m *dns.Msg) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	answer, err := b.exchange(ctx, m)
	if answer != nil {
		if err := b.checkAnswer("update", zone, answer); err != nil {
			return err
		}
	}
	return err
}

// send is exchange: one message on a connection of its own.
func (b *Backend) send(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
	c, err := b.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if err := c.write(m); err != nil {
		return nil, c.netError(ctx, err)
	}
	answer, err := c.read(m.Id)
	if err != nil {
		return answer, c.netError(ctx, err)
	}
	return answer, nil
}

// conn is a TCP connection to the server that signs what it writes and
// checks the signature of what it reads.
type conn struct {
	*dns.Conn
	server string
	key    Key
	// mac is the MAC of the last message written or read: the next
	// answer's signature covers it (RFC 8945 §5.3.1).
	mac string
	// answers counts the messages read; all but the first of a transfer
	// are signed over the TSIG timers only.
	answers int
	stop    func() bool
}

// dial connects to the server. The connection has no deadline of its own:
// ctx's end closes it, which ends any read or write at once, so that an
// error after it is always ctx's.
func (b *Backend) dial(ctx context.Context) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", b.server)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to %s: %w", b.server, context.Cause(ctx))
		}
		return nil, fmt.Errorf("connect to %s: %w", b.server, err)
	}
	return &conn{
		Conn:   &dns.Conn{Conn: nc},
		server: b.server,
		key:    b.key,
		stop:   context.AfterFunc(ctx, func() { _ = nc.Close() }),
	}, nil
}

func (c *conn) close() {
	c.stop()
	_ = c.Conn.Close()
}

func (c *conn) write(m *dns.Msg) error {
	m.SetTsig(c.key.Name, c.key.Algorithm, 300, time.Now().Unix())
	out, mac, err := dns.TsigGenerate(m, c.key.Secret, "", false)
	if err != nil {
		return fmt.Errorf("sign with %s: %w", c.key, err)
	}
	c.mac = mac
	_, err = c.Write(out)
	return err
}

// read returns the next message. An error with a message says that it
// does not carry a valid signature of the key; the caller may still read
// its rcode, since a server refusing a key does not sign its refusal.
func (c *conn) read(id uint16) (*dns.Msg, error) {
	p, err := c.ReadMsgHeader(nil)
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	if err := m.Unpack(p); err != nil {
		return nil, fmt.Errorf("malformed answer: %w", err)
	}
	if m.Id != id {
		return nil, fmt.Errorf("answer to message %d, want %d", m.Id, id)
	}
	c.answers++
	t := m.IsTsig()
	switch {
	case t == nil:
		return m, fmt.Errorf("%w: no TSIG record", ErrUnsigned)
	case dns.CanonicalName(t.Hdr.Name) != c.key.Name || !strings.EqualFold(t.Algorithm, c.key.Algorithm):
		return m, fmt.Errorf("%w: signed with key %s (%s), want %s", ErrUnsigned, t.Hdr.Name, t.Algorithm, c.key)
	}
	if err := dns.TsigVerify(p, c.key.Secret, c.mac, c.answers > 1); err != nil {
		return m, fmt.Errorf("%w: %v", ErrUnsigned, err)
	}
	c.mac = t.MAC
	return m, nil
}

// netError explains an error of the connection: ctx's end, a timeout, or
// what the network said.
func (c *conn) netError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: no answer: %w", c.server, context.Cause(ctx))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: no answer in time: %w", c.server, err)
	}
	return fmt.Errorf("%s: %w", c.server, err)
}
