package kubetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const (
	dirPrefix = "kubetest-"
	// ownerLock is held (flock) by the process that owns a cluster dir for
	// as long as it lives; the kernel drops it however the process ends.
	ownerLock = ".owner.lock"
)

// makeDir creates a cluster dir and locks it for the life of this process.
// Close the returned file after removing the dir.
func makeDir() (dir string, lock *os.File, err error) {
	dir, err = os.MkdirTemp("", dirPrefix)
	if err != nil {
		return "", nil, err
	}
	lock, err = os.OpenFile(filepath.Join(dir, ownerLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return dir, lock, nil
}

// removeAbandonedDirs removes cluster dirs whose owner died without Stop, as
// a test binary killed by go test's -timeout does: its children die with it
// (Pdeathsig) but each dir keeps about 120 MB of etcd write-ahead log.
func removeAbandonedDirs(logf func(string, ...any)) {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(os.TempDir(), e.Name())
		if abandoned(dir) {
			if err := os.RemoveAll(dir); err == nil {
				logf("removed %s, left behind by a test binary that died", dir)
			}
		}
	}
}

func abandoned(dir string) bool {
	// No lock file: not ours, or being created right now. Leave it.
	f, err := os.OpenFile(filepath.Join(dir, ownerLock), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	// Getting the lock means no process holds it. Closing f releases it
	// again, and the dir is removed right after.
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
