package haproxy

import (
	"fmt"
	"os"
	"syscall"
)

// ensureRuntimeDir creates dir (mode 0700) if it is missing, and refuses a
// directory that another user owns or that group or others may write: its
// files are HAProxy's config, which HAProxy runs, its admin socket, and
// the private keys of the certificates, and a directory someone else made
// first (say in /tmp) would let them swap any of those.
func ensureRuntimeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("haproxy: runtime directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("haproxy: runtime directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("haproxy: runtime directory %s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("haproxy: runtime directory %s is owned by uid %d, not by this controller's uid %d: give the controller a directory of its own (--haproxy-dir)",
			dir, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("haproxy: runtime directory %s may be written by group or others (mode %04o): chmod go-w it, or give the controller a directory of its own (--haproxy-dir)",
			dir, perm)
	}
	return nil
}
