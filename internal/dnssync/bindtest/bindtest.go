// Package bindtest runs a real BIND 9 name server for tests: the primary of
// one zone on a free port of 127.0.0.1 that takes updates and transfers
// signed with TSIG keys that tsig-keygen made.
//
// # Theory of operation
//
// Start makes keys with tsig-keygen and writes them, named.conf and the
// zone file into the test's temp dir, where named also keeps the zone's
// journal. It runs `named -g` (foreground, log to stderr, which goes to a
// file in the temp dir) as the current user, from a goroutine that holds
// its OS thread until named exits, with Pdeathsig=SIGKILL: named dies with
// the test binary even if that is killed, and never because some other
// thread exited. Start waits until named answers for the zone over UDP and
// TCP; if the port turned out to be taken, it tries another. When the test
// ends, Stop sends SIGTERM, then SIGKILL, and waits for the process; then
// the temp dir goes. named has no rndc control channel and writes no pid
// file or session key outside the temp dir, so servers of parallel tests
// never meet. Debian's AppArmor profile for named, which would keep it out
// of the temp dir, is not loaded where these tests run (no
// /sys/kernel/security/apparmor); if it is, set NAMED_BINARY to a copy
// outside the profile.
package bindtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ingress-controller/internal/nettest"
)

// Options configure a Server.
type Options struct {
	// Zone is the zone the server is primary for; default "example.test.".
	Zone string
	// Records are extra lines of the zone file, e.g. "www 300 IN A 192.0.2.1"
	// (names relative to the zone).
	Records []string
}

// Key names of the keys a Server makes.
const (
	// Key may transfer and update the zone.
	Key = "ic-test"
	// OtherKey may update the zone, as someone other than the controller.
	OtherKey = "other"
	// ReadOnlyKey may transfer the zone but not update it.
	ReadOnlyKey = "read-only"
)

// Server is a running named.
type Server struct {
	// Addr is "127.0.0.1:port", for UDP and TCP.
	Addr string
	// Zone is absolute, e.g. "example.test.".
	Zone string
	// Dir holds named.conf, the zone file, its journal, the log and the
	// key files.
	Dir string

	secrets map[string]string
	proc    *process
	logPath string
}

// binary returns the named executable, skipping the test under -short and
// failing it when named is missing.
func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: needs BIND 9's named (runs under make test)")
	}
	if b := os.Getenv("NAMED_BINARY"); b != "" {
		return b
	}
	for _, b := range []string{"named", "/usr/sbin/named"} {
		if p, err := exec.LookPath(b); err == nil {
			return p
		}
	}
	t.Fatal("named is not installed: these tests drive a real BIND 9; install it with `apt-get install -y bind9 bind9-utils bind9-dnsutils` or set NAMED_BINARY")
	return ""
}

// Start runs a named for the rest of the test.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := binary(t)
	zone := dns.CanonicalName(o.Zone)
	if o.Zone == "" {
		zone = "example.test."
	}
	s := &Server{Zone: zone, Dir: t.TempDir(), secrets: map[string]string{}}
	s.logPath = filepath.Join(s.Dir, "named.log")
	for _, name := range []string{Key, OtherKey, ReadOnlyKey} {
		s.secrets[name] = keygen(t, bin, name, s.KeyFile(name))
	}
	zoneFile := fmt.Sprintf("$TTL 300\n@ IN SOA ns.%[1]s hostmaster.%[1]s 1 3600 600 86400 60\n@ IN NS ns.%[1]s\nns IN A 127.0.0.1\n%s\n",
		zone, strings.Join(o.Records, "\n"))
	write(t, filepath.Join(s.Dir, "zone.db"), zoneFile)

	var lastErr error
	for range 3 {
		s.Addr = fmt.Sprintf("127.0.0.1:%d", nettest.FreePort(t))
		write(t, filepath.Join(s.Dir, "named.conf"), s.config())
		p, err := start(bin, []string{"-g", "-4", "-n", "1", "-c", filepath.Join(s.Dir, "named.conf")}, s.logPath)
		if err != nil {
			t.Fatalf("start named: %v", err)
		}
		s.proc = p
		if lastErr = s.waitReady(20 * time.Second); lastErr == nil {
			t.Cleanup(func() { s.Stop(t) })
			return s
		}
		inUse := strings.Contains(s.Log(), "address in use")
		if err := p.stop(); err != nil {
			t.Error(err)
		}
		if !inUse {
			break
		}
	}
	t.Fatalf("named on %s: %v\n%s", s.Addr, lastErr, s.tail())
	return nil
}

// KeyFile is the path of the key file tsig-keygen wrote for the key name.
func (s *Server) KeyFile(name string) string { return filepath.Join(s.Dir, name+".key") }

// Secret is the base64 secret of the key name.
func (s *Server) Secret(name string) string { return s.secrets[name] }

func (s *Server) config() string {
	var b strings.Builder
	for _, name := range []string{Key, OtherKey, ReadOnlyKey} {
		fmt.Fprintf(&b, "include %q;\n", s.KeyFile(name))
	}
	_, port, _ := strings.Cut(s.Addr, ":")
	fmt.Fprintf(&b, `options {
	directory %[1]q;
	pid-file none;
	session-keyfile none;
	managed-keys-directory %[1]q;
	listen-on port %[2]s { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
	allow-query { 127.0.0.1; };
};
controls { };
zone %[3]q {
	type primary;
	file %[4]q;
	allow-update { key %[5]q; key %[6]q; };
	allow-transfer { key %[5]q; key %[7]q; };
};
`, s.Dir, port, s.Zone, filepath.Join(s.Dir, "zone.db"), Key, OtherKey, ReadOnlyKey)
	return b.String()
}

var secretRE = regexp.MustCompile(`secret "([^"]+)"`)

// keygen writes a key file for name with tsig-keygen (beside named) and
// returns the secret.
func keygen(t testing.TB, named, name, path string) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(named), "tsig-keygen")
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("tsig-keygen"); err != nil {
			t.Fatalf("tsig-keygen is not installed (bind9 package): %v", err)
		}
	}
	out, err := exec.Command(bin, "-a", "hmac-sha256", name).Output()
	if err != nil {
		t.Fatalf("tsig-keygen: %v", err)
	}
	m := secretRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("tsig-keygen wrote no secret:\n%s", out)
	}
	write(t, path, string(out))
	return string(m[1])
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitReady polls until named answers the zone's SOA over UDP and TCP.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if s.proc.exited() {
			return fmt.Errorf("named exited: %v", s.proc.err)
		}
		if strings.Contains(s.Log(), "address in use") {
			return errors.New("the port is taken")
		}
		last = nil
		for _, network := range []string{"udp", "tcp"} {
			if _, err := s.exchange(network, soaQuery(s.Zone), ""); err != nil {
				last = fmt.Errorf("SOA over %s: %w", network, err)
			}
		}
		if last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %v", timeout, last)
}

func soaQuery(zone string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	m.RecursionDesired = false
	return m
}

// exchange sends m, signed with the key named key if not "", and returns
// the answer; an rcode other than NOERROR is an error.
func (s *Server) exchange(network string, m *dns.Msg, key string) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	if key != "" {
		name := dns.Fqdn(key)
		c.TsigSecret = map[string]string{name: s.secrets[key]}
		m.SetTsig(name, dns.HmacSHA256, 300, time.Now().Unix())
	}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return r, fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
	}
	return r, nil
}

// Lookup asks the server, over UDP as a resolver would, for the records of
// type qtype at name, and returns their data as zone files print it,
// sorted: "192.0.2.1", "\"text\"", "target.example.test.". An absent name
// has none.
func (s *Server) Lookup(t testing.TB, name string, qtype uint16) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	r, err := s.exchange("udp", m, "")
	if err != nil && (r == nil || r.Rcode != dns.RcodeNameError) {
		t.Fatalf("query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	slices.Sort(out)
	return out
}

// Update sends an UPDATE of the zone signed with the key named key,
// filled in by build, and returns the rcode of the answer.
func (s *Server) Update(t testing.TB, key string, build func(m *dns.Msg)) int {
	t.Helper()
	m := new(dns.Msg)
	m.SetUpdate(s.Zone)
	build(m)
	r, err := s.exchange("tcp", m, key)
	if r == nil {
		t.Fatalf("update signed with %s: %v", key, err)
	}
	return r.Rcode
}

// MustUpdate is Update that fails the test unless the update succeeds.
func (s *Server) MustUpdate(t testing.TB, key string, build func(m *dns.Msg)) {
	t.Helper()
	if rcode := s.Update(t, key, build); rcode != dns.RcodeSuccess {
		t.Fatalf("update signed with %s: %s\n%s", key, dns.RcodeToString[rcode], s.tail())
	}
}

// Serial is the zone's SOA serial: every UPDATE that changes the zone
// raises it by one.
func (s *Server) Serial(t testing.TB) uint32 {
	t.Helper()
	r, err := s.exchange("tcp", soaQuery(s.Zone), "")
	if err != nil {
		t.Fatalf("SOA of %s: %v", s.Zone, err)
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial
		}
	}
	t.Fatalf("no SOA in the answer for %s", s.Zone)
	return 0
}

// Log is everything named has logged.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *Server) tail() string {
	lines := strings.Split(strings.TrimRight(s.Log(), "\n"), "\n")
	return "--- named log (last lines):\n" + strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// Stop stops named and waits for it; at the end of the test it runs by
// itself. Stopping a stopped server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.proc.exited() {
		return
	}
	if err := s.proc.stop(); err != nil {
		t.Error(err)
	}
}

// Pid is named's process id.
func (s *Server) Pid() int { return s.proc.cmd.Process.Pid }

// process is a named this package started.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid once done is closed
}

func start(bin string, args []string, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "=== %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread lives as long as named, so that
		// Pdeathsig means "when the test binary dies".
		runtime.LockOSThread()
		defer close(p.done)
		if err := cmd.Start(); err != nil {
			p.err = err
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after 10 s, and waits for the process.
func (p *process) stop() error {
	pid := p.cmd.Process.Pid
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return fmt.Errorf("named (pid %d) ignored SIGTERM for 10 s and was killed", pid)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("named (pid %d) survived SIGKILL for 10 s", pid)
	}
}
