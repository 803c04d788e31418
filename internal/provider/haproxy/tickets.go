package haproxy

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// TLS session tickets. Every HAProxy worker's OpenSSL makes its own
// ticket keys when the worker starts, and over TLS 1.3 gives a client a
// new ticket with every resumed handshake. TLS 1.3 clients use a ticket
// once (browsers do; so does wrk), so that renewal is what keeps them
// resuming. A keys file of our own (tls-ticket-keys) would let tickets
// outlive reloads, but HAProxy then renews only a ticket of an older key:
// a client would resume once per ticket and then do a full handshake, one
// connection in two or three (measured with bench/run.sh: about 45% full
// handshakes for wrk's resumed run).
//
// So the keys rotate with every reload, and the provider reloads HAProxy
// when its worker has served for a rotation period without one: a key
// encrypts and decrypts for at most one period, and a ticket resumes for
// one period after it was issued (tune.ssl.lifetime). HAProxy 2.6 dates a
// renewed ticket from its renewal, so a client that keeps resuming keeps
// its session for as long as the worker lives: at most one period too.
// The price of a reload is one full handshake for each client holding a
// ticket of the old worker.
const DefaultTicketKeyRotation = time.Hour

// ticketLifetime writes tune.ssl.lifetime, how long a ticket or a cached
// session resumes: one rotation period.
func ticketLifetime(w *lines, opts RenderOptions) {
	if opts.TicketLifetime <= 0 || opts.Limits.NoTLSSessionResumption {
		return
	}
	w.line("    tune.ssl.lifetime " + strconv.FormatInt(max(int64(opts.TicketLifetime/time.Second), 1), 10) + "s")
}

// rotateTicketKeys reloads HAProxy with the config in service, so that a
// new worker makes new keys, unless the worker in service started less
// than a period ago. On error the worker in service stays, and the next
// rotation tries again.
func (p *Provider) rotateTicketKeys(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.unknown || p.applied == nil || p.proc == nil || p.proc.exited() {
		return nil
	}
	if time.Since(p.keysMade) < p.ticketRotation() {
		return nil
	}
	if err := p.applyReload(ctx, p.applied, true); err != nil {
		return fmt.Errorf("haproxy: tls ticket key rotation: %w", err)
	}
	p.ticketRotations.Add(1)
	return nil
}

// ticketRotation is the rotation period in use.
func (p *Provider) ticketRotation() time.Duration {
	if p.opts.TicketKeyRotation > 0 {
		return p.opts.TicketKeyRotation
	}
	return DefaultTicketKeyRotation
}

// nextTicketRotation is how long until the next rotation is due: a
// period after the worker in service started, at once if that has passed.
func (p *Provider) nextTicketRotation() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(time.Until(p.keysMade.Add(p.ticketRotation())), 0)
}
