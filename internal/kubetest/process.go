package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// spawner starts child processes from one goroutine locked to its OS thread.
// Pdeathsig fires when the thread that started the child exits, not when the
// process does. A Go runtime thread exits whenever a goroutine that locked it
// returns without unlocking (network-namespace code does that on purpose), so
// a child started from an arbitrary thread could be killed at a random
// moment. A dedicated thread that lives until close makes Pdeathsig mean
// "when the test binary dies".
type spawner struct {
	reqs chan spawnRequest
	done chan struct{}
}

type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan<- error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnRequest), done: make(chan struct{})}
	go func() {
		// Never unlocked: when close ends this goroutine the thread exits
		// too, which SIGKILLs any child that somehow survived Stop.
		runtime.LockOSThread()
		defer close(s.done)
		for r := range s.reqs {
			r.errc <- r.cmd.Start()
		}
	}()
	return s
}

// close ends the spawner's thread. Call it only once every child is gone.
func (s *spawner) close() {
	close(s.reqs)
	<-s.done
}

// run starts cmd from the spawner's thread, to die with the test binary.
func (s *spawner) run(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	errc := make(chan error, 1)
	s.reqs <- spawnRequest{cmd: cmd, errc: errc}
	return <-errc
}

// process is one running etcd or kube-apiserver.
type process struct {
	name    string
	logPath string
	// logStart is where this run's output begins in the log, which is
	// shared by every run of the same program (apiserver restarts).
	logStart int64
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error // valid once done is closed
}

// start runs bin with args, appending its output to logPath.
func (s *spawner) start(name, bin string, args []string, dir, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// The child has its own descriptor; ours is only needed until Start.
	defer logFile.Close()
	info, err := logFile.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(logFile, "=== %s %s %s\n", time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := s.run(cmd); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, logStart: info.Size(), cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL if the process is still there after
// grace, and waits for it. It reports a process that had already died on its
// own, since that is a crash the caller did not ask for.
func (p *process) stop(grace time.Duration, logf func(string, ...any)) error {
	if p.exited() {
		return fmt.Errorf("%s (pid %d) had already exited: %v\n%s", p.name, p.pid(), p.waitErr, p.tail())
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	}
	logf("%s (pid %d) still running %s after SIGTERM; sending SIGKILL", p.name, p.pid(), grace)
	_ = p.cmd.Process.Kill()
	t.Reset(10 * time.Second)
	select {
	case <-p.done:
		return nil
	case <-t.C:
		return fmt.Errorf("%s (pid %d) survived SIGKILL for 10s", p.name, p.pid())
	}
}

// tail returns the last lines this run of the process wrote, for errors.
func (p *process) tail() string {
	const maxBytes = 16 << 10
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	from := max(p.logStart, info.Size()-maxBytes)
	b, err := io.ReadAll(io.NewSectionReader(f, from, info.Size()-from))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return fmt.Sprintf("--- last lines of %s:\n%s", p.logPath, lastLines(string(b), 40))
}

// portInUse says whether this run failed because a port was taken, which
// happens when another process grabs a port between freePorts and the bind.
func (p *process) portInUse() bool {
	return strings.Contains(p.tail(), "address already in use")
}

// waitUntil calls check until it succeeds, ctx ends or the process exits.
// Errors quote the last failure of check and the tail of the process's log.
func waitUntil(ctx context.Context, p *process, what string, check func(context.Context) error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last := check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s (pid %d): waiting for %s: %w; last error: %v\n%s", p.name, p.pid(), what, ctx.Err(), last, p.tail())
		case <-p.done:
			return fmt.Errorf("%s (pid %d) exited while waiting for %s: %v\n%s", p.name, p.pid(), what, p.waitErr, p.tail())
		case <-tick.C:
		}
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. They are free
// when it returns, not reserved; callers retry if one is taken meanwhile.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// supportsFlag says whether bin's --help lists flag.
func supportsFlag(ctx context.Context, bin, flag string) bool {
	out, err := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return false
		}
	}
	return bytes.Contains(out, []byte("--"+flag+" ")) || bytes.Contains(out, []byte("--"+flag+"\t")) || bytes.Contains(out, []byte("--"+flag+"="))
}
