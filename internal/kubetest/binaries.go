package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	etcdBinary      = "etcd"
	apiserverBinary = "kube-apiserver"
	// modulePath names the module whose hack/build-kubetools.sh builds the
	// binaries; Start walks up from the working directory to find it.
	modulePath  = "ingress-controller"
	buildScript = "hack/build-kubetools.sh"
)

// findBinaries returns the directory holding etcd and kube-apiserver:
// $KUBETOOLS_DIR_BIN if set, else the directory the build script prints.
func findBinaries(ctx context.Context, logf func(string, ...any)) (string, error) {
	if dir := os.Getenv("KUBETOOLS_DIR_BIN"); dir != "" {
		if err := checkBinaries(dir); err != nil {
			return "", fmt.Errorf("KUBETOOLS_DIR_BIN=%s: %w", dir, err)
		}
		return dir, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("%w (or set KUBETOOLS_DIR_BIN to a directory with %s and %s)", err, etcdBinary, apiserverBinary)
	}
	// The script serializes concurrent runs itself (go test runs packages
	// in parallel) with a lock file in its cache root.
	script := filepath.Join(root, buildScript)

	start := time.Now()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = root
	cmd.Stdout = &stdout
	cmd.Stderr = &lineLogger{buf: &stderr, logf: logf}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", script, err, lastLines(stderr.String(), 40))
	}
	out := strings.TrimSpace(stdout.String())
	dir := out[strings.LastIndexByte(out, '\n')+1:]
	if dir == "" {
		return "", fmt.Errorf("%s printed no directory\n%s", script, lastLines(stderr.String(), 40))
	}
	if err := checkBinaries(dir); err != nil {
		return "", fmt.Errorf("%s printed %s: %w", script, dir, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		logf("built %s and %s in %s, cached in %s", etcdBinary, apiserverBinary, d.Round(time.Second), dir)
	}
	return dir, nil
}

func checkBinaries(dir string) error {
	for _, name := range []string{etcdBinary, apiserverBinary} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", filepath.Join(dir, name))
		}
	}
	return nil
}

// moduleRoot walks up from the working directory (a test's package
// directory) to the directory whose go.mod declares modulePath.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if modulePathOf(filepath.Join(dir, "go.mod")) == modulePath {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod for module %q in %s or above it", modulePath, wd)
		}
	}
}

// modulePathOf returns the module path a go.mod declares, or "".
func modulePathOf(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`+"`")
		}
	}
	return ""
}

// lineLogger keeps everything written to it and passes each line to logf,
// so that a slow first build shows progress.
type lineLogger struct {
	buf     *bytes.Buffer
	logf    func(string, ...any)
	pending []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.buf.Write(p)
	l.pending = append(l.pending, p...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.logf("%s", l.pending[:i])
		l.pending = l.pending[i+1:]
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
