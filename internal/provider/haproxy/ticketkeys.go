package haproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TLS session ticket keys. The provider makes them and gives HAProxy the
// same ones in every generation (a tls-ticket-keys file on every HTTPS
// bind line), so a ticket issued before a reload resumes after it. HAProxy
// keeps ticketKeyCount keys, oldest first: the one before last encrypts
// new tickets, all of them decrypt. Every rotation period the provider
// makes a new key and hands it to the running worker through the runtime
// API ("set ssl tls-key"), which drops the oldest; no reload. So a key is
// known one period before it encrypts, encrypts for one period, and
// decrypts for one more; a ticket is accepted for the period after it was
// issued (tune.ssl.lifetime), never longer than its key lives.
const (
	// ticketKeyCount is HAProxy's TLS_TICKETS_NO (3 unless built
	// otherwise; haproxy -c refuses a file with fewer keys).
	ticketKeyCount = 3
	// ticketKeyLen is a key for AES-256: a 16-byte name, a 32-byte AES
	// key and a 32-byte HMAC key.
	ticketKeyLen = 80
	// ticketKeysFile is the keys file in a generation, and the name the
	// runtime API knows the keys by.
	ticketKeysFile = "tls-ticket-keys"
	// DefaultTicketKeyRotation is how often a new key is made when
	// Options.TicketKeyRotation is zero.
	DefaultTicketKeyRotation = time.Hour
)

// ticketKeys is the provider's ring of keys, oldest first.
type ticketKeys struct {
	keys [ticketKeyCount][ticketKeyLen]byte
	// rotated is when the newest key was made.
	rotated time.Time
}

// newTicketKeys makes a ring of fresh keys.
func newTicketKeys(now time.Time) (*ticketKeys, error) {
	k := &ticketKeys{rotated: now}
	for i := range k.keys {
		if _, err := io.ReadFull(rand.Reader, k.keys[i][:]); err != nil {
			return nil, fmt.Errorf("tls ticket keys: %w", err)
		}
	}
	return k, nil
}

// file renders the ring as HAProxy reads it: one base64 key per line.
func (k *ticketKeys) file() []byte {
	var b bytes.Buffer
	for i := range k.keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k.keys[i][:]))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// next returns the ring after one rotation, and its new key in base64.
func (k *ticketKeys) next(now time.Time) (*ticketKeys, string, error) {
	n := &ticketKeys{rotated: now}
	copy(n.keys[:], k.keys[1:])
	if _, err := io.ReadFull(rand.Reader, n.keys[ticketKeyCount-1][:]); err != nil {
		return nil, "", fmt.Errorf("tls ticket keys: %w", err)
	}
	return n, base64.StdEncoding.EncodeToString(n.keys[ticketKeyCount-1][:]), nil
}

// parseTicketKeys reads a keys file as file writes it.
func parseTicketKeys(b []byte) (*ticketKeys, error) {
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) != ticketKeyCount {
		return nil, fmt.Errorf("tls ticket keys: %d lines, want %d", len(lines), ticketKeyCount)
	}
	k := &ticketKeys{}
	for i, l := range lines {
		key, err := base64.StdEncoding.DecodeString(string(l))
		if err != nil || len(key) != ticketKeyLen {
			return nil, errors.New("tls ticket keys: line " + strconv.Itoa(i+1) + " is not a base64 key of 80 bytes")
		}
		copy(k.keys[i][:], key)
	}
	return k, nil
}

// loadTicketKeys returns the ring the current generation in dir holds,
// with the time it was last written, so that a restarted controller goes
// on with the keys HAProxy has; nil when there is none or it does not
// parse.
func loadTicketKeys(dir string) *ticketKeys {
	path := filepath.Join(dir, currentLink, ticketKeysFile)
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	k, err := parseTicketKeys(b)
	if err != nil {
		return nil
	}
	k.rotated = fi.ModTime()
	return k
}

// ticketLines are the bind options and global settings of the keys, for
// render.go: every HTTPS bind line reads the generation's keys file, and
// a ticket or a cached session resumes for one rotation period.
func (r *renderer) ticketBindOption() string {
	if r.opts.TicketKeys == nil {
		return ""
	}
	r.files[ticketKeysFile] = r.opts.TicketKeys
	r.ticketKeys = true
	return " tls-ticket-keys " + ticketKeysFile
}

// ticketLifetime writes tune.ssl.lifetime, how long a ticket or a cached
// session resumes: one rotation period, so that no ticket outlives its key.
func ticketLifetime(w *lines, opts RenderOptions) {
	if opts.TicketKeys == nil || opts.Limits.NoTLSSessionResumption {
		return
	}
	w.line("    tune.ssl.lifetime " + strconv.FormatInt(max(int64(opts.TicketLifetime/time.Second), 1), 10) + "s")
}

// rotateTicketKeys hands HAProxy a new key through the runtime API and
// keeps the ring, and the current generation's file, in step with it. On
// error the ring stays as it was, and the next rotation tries again.
func (p *Provider) rotateTicketKeys(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tickets == nil {
		return nil
	}
	next, key, err := p.tickets.next(time.Now())
	if err != nil {
		return err
	}
	if p.proc != nil && !p.proc.exited() && !p.unknown && p.ticketsLive {
		out, err := p.workerCommands(ctx, p.worker, []string{"set ssl tls-key " + ticketKeysFile + " " + key})
		if err != nil {
			return fmt.Errorf("haproxy: tls ticket key rotation: runtime API: %w", err)
		}
		// The answer never holds the key; it is not logged either way.
		if !strings.Contains(out, "TLS ticket key updated") {
			return fmt.Errorf("haproxy: tls ticket key rotation: HAProxy answered %q", clip(out))
		}
	}
	if gen := currentGen(p.dir); gen != "" {
		if err := writeAtomic(filepath.Join(p.dir, gen, ticketKeysFile), next.file()); err != nil {
			return fmt.Errorf("haproxy: tls ticket key rotation: %w", err)
		}
	}
	p.tickets = next
	p.ticketRotations.Add(1)
	return nil
}

// clip shortens HAProxy's answer for an error message.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// ticketRotation is the rotation period in use.
func (p *Provider) ticketRotation() time.Duration {
	if p.opts.TicketKeyRotation > 0 {
		return p.opts.TicketKeyRotation
	}
	return DefaultTicketKeyRotation
}

// nextTicketRotation is how long until the next rotation is due: a
// period after the newest key was made, at once if that has passed.
func (p *Provider) nextTicketRotation() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tickets == nil {
		return 0
	}
	return max(time.Until(p.tickets.rotated.Add(p.ticketRotation())), 0)
}
