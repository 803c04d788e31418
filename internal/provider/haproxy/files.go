package haproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ingress-controller/internal/selfsigned"
)

// Files of the runtime directory.
const (
	masterSocket    = "master.sock"
	statsSocket     = "haproxy.sock"
	serverStateFile = "server-state"
	pidFile         = "haproxy.pid"
	defaultCertName = "default-cert.pem"
	logFile         = "haproxy.log"
	// currentLink is a symlink to the generation in service; HAProxy runs
	// with -f current/haproxy.cfg, so a reload reads whatever it points to.
	currentLink = "current"
	genPrefix   = "gen-"
)

// writeFiles writes rendered files under dir. Certificates are readable by
// the owner only. dir also gets a link "current" to itself
// (backendtls.go's currentDir says why).
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.Symlink(".", filepath.Join(dir, currentLink)); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !filepath.IsLocal(n) {
			return fmt.Errorf("rendered file name %q is not local", n)
		}
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[n], 0o600); err != nil {
			return err
		}
	}
	return nil
}

// validateConfig runs "haproxy -c" on a config file and returns HAProxy's
// own words when it refuses it.
func validateConfig(ctx context.Context, bin, cfgPath string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", "-f", cfgPath)
	cmd.Dir = filepath.Dir(cfgPath) // as the master's, for currentDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s -c rejected the config: %w: %s", bin, err, problems(out.String()))
	}
	return nil
}

// problems picks the ALERT lines of HAProxy's output, or all of it.
func problems(out string) string {
	var alerts []string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, "ALERT") {
			alerts = append(alerts, strings.TrimSpace(l))
		}
	}
	if len(alerts) == 0 {
		return strings.TrimSpace(out)
	}
	return strings.Join(alerts, "; ")
}

// swapCurrent points the current link at gen atomically.
func swapCurrent(dir, gen string) error {
	tmp := filepath.Join(dir, currentLink+".tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(gen, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, currentLink))
}

// currentGen returns the generation the current link points to, or "".
func currentGen(dir string) string {
	g, err := os.Readlink(filepath.Join(dir, currentLink))
	if err != nil {
		return ""
	}
	return g
}

// removeOtherGens deletes every generation directory but keep.
func removeOtherGens(dir, keep string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), genPrefix) && e.Name() != keep {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// writeAtomic replaces path with data.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// defaultCertificate returns the PEM certificate and key served where the
// config has none (as the builtin provider does): the one kept in dir, else
// a new self-signed ECDSA P-256 one for no host, so that clients see at
// once that it is not the site's. Kept, so that restarts serve the same.
func defaultCertificate(dir string) ([]byte, error) {
	path := filepath.Join(dir, defaultCertName)
	if b, err := os.ReadFile(path); err == nil {
		if _, err := tls.X509KeyPair(b, b); err == nil {
			return b, nil
		}
	}
	c, err := selfsigned.New(selfsigned.DefaultName, 10*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	b := append(c.ChainPEM, c.KeyPEM...)
	if err := writeAtomic(path, b); err != nil {
		return nil, err
	}
	return b, nil
}
