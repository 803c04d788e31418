package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one HAProxy master, started by this provider or adopted from
// an earlier one.
type process struct {
	pid     int
	adopted bool
	started time.Time
	done    chan struct{} // closed once the master has exited
	exitErr error         // why it exited; set before done is closed
}

func (pr *process) exited() bool {
	select {
	case <-pr.done:
		return true
	default:
		return false
	}
}

// startMaster starts "haproxy -W" on the current generation and waits until
// it has a worker.
func (p *Provider) startMaster(ctx context.Context) (*process, error) {
	logPath := filepath.Join(p.dir, logFile)
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	offset, _ := lf.Seek(0, io.SeekEnd)
	cmd := exec.Command(p.opts.Binary,
		"-W",
		"-S", filepath.Join(p.dir, masterSocket)+",mode,600",
		"-f", filepath.Join(p.dir, currentLink, configFile),
		"-p", filepath.Join(p.dir, pidFile),
	)
	cmd.Dir = p.dir
	// HAProxy writes only its alerts and warnings here. A file, not a
	// pipe, so that a master kept running after we exit never writes to a
	// closed pipe.
	cmd.Stdout, cmd.Stderr = lf, lf
	// Its own process group: signals to the controller's group do not reach
	// it, and a kill of the group takes the workers too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.opts.Binary, err)
	}
	pr := &process{pid: cmd.Process.Pid, started: time.Now(), done: make(chan struct{})}
	go func() {
		pr.exitErr = cmd.Wait()
		close(pr.done)
	}()
	if err := p.waitForWorker(ctx, pr, 15*time.Second); err != nil {
		killGroup(pr)
		<-pr.done
		return nil, fmt.Errorf("haproxy master %d: %w%s", pr.pid, err, logTail(logPath, offset))
	}
	p.log.Info("haproxy started", "pid", pr.pid)
	return pr, nil
}

// logTail returns what HAProxy logged since offset, for an error message.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 8<<10))
	if s := problems(string(b)); s != "" {
		return ": " + s
	}
	return ""
}

// waitForWorker polls the master CLI until the master lists a worker.
func (p *Provider) waitForWorker(ctx context.Context, pr *process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := p.showProc(ctx)
		if err == nil && st.worker != 0 {
			return nil
		}
		if pr.exited() {
			return fmt.Errorf("exited: %v", pr.exitErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no worker after %s (last error: %v)", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-pr.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// adopt returns the master a previous provider left running on this
// runtime directory, or nil when there is none.
func (p *Provider) adopt(ctx context.Context) *process {
	b, err := os.ReadFile(filepath.Join(p.dir, pidFile))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || !alive(pid) {
		return nil
	}
	// The pid may have been reused: it must be an haproxy on our socket.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(filepath.Join(p.dir, masterSocket))) {
		return nil
	}
	st, err := p.showProc(ctx)
	if err != nil || st.master != pid || st.worker == 0 {
		return nil
	}
	pr := &process{pid: pid, adopted: true, started: time.Now(), done: make(chan struct{})}
	go func() {
		// Not our child: poll for its end.
		for alive(pid) {
			time.Sleep(50 * time.Millisecond)
		}
		pr.exitErr = errors.New("adopted master exited")
		close(pr.done)
	}()
	p.log.Info("adopted running haproxy", "pid", pid)
	return pr
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state != 'Z' && state != 'X'
}

// stopMaster soft-stops the master: the workers stop accepting, finish the
// requests in flight and exit, bounded by grace (and by hard-stop-after in
// the config); then the process group is killed.
func (p *Provider) stopMaster(pr *process, grace time.Duration) {
	if pr.exited() {
		return
	}
	_ = syscall.Kill(pr.pid, syscall.SIGUSR1)
	select {
	case <-pr.done:
		p.log.Info("haproxy stopped", "pid", pr.pid)
		return
	case <-time.After(grace + 2*time.Second):
	}
	// Idle keep-alive connections are kept until they send a request
	// (option idle-close-on-response), so this is the usual way to end.
	p.log.Info("haproxy still has connections after the shutdown grace; stopping it hard", "pid", pr.pid)
	_ = syscall.Kill(pr.pid, syscall.SIGTERM)
	select {
	case <-pr.done:
		return
	case <-time.After(2 * time.Second):
	}
	killGroup(pr)
	select {
	case <-pr.done:
	case <-time.After(10 * time.Second):
		p.log.Error("haproxy did not exit after SIGKILL", "pid", pr.pid)
	}
}

// killGroup kills the master and its workers, which share its process group
// when we started it.
func killGroup(pr *process) {
	if pgid, err := syscall.Getpgid(pr.pid); err == nil && pgid == pr.pid {
		_ = syscall.Kill(-pr.pid, syscall.SIGKILL)
		return
	}
	_ = syscall.Kill(pr.pid, syscall.SIGKILL)
}

// procStatus is what "show proc" on the master CLI says.
type procStatus struct {
	master, reloads, failed int
	worker                  int // the current worker's pid, 0 if none
}

func (p *Provider) showProc(ctx context.Context) (procStatus, error) {
	out, err := p.masterCommand(ctx, "show proc")
	if err != nil {
		return procStatus{}, err
	}
	return parseShowProc(out)
}

// parseShowProc reads the output of "show proc" of HAProxy 2.6:
//
//	#<PID>          <type>          <reloads>       <uptime>        <version>
//	12817           master          1 [failed: 0]   0d00h00m10s     2.6.12
//	# workers
//	13356           worker          0               0d00h00m01s     2.6.12
//	# old workers
//	...
func parseShowProc(out string) (procStatus, error) {
	var st procStatus
	section := ""
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, "# ") {
			section = strings.TrimPrefix(l, "# ")
			continue
		}
		f := strings.Fields(l)
		if len(f) < 3 || strings.HasPrefix(l, "#") {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		switch {
		case f[1] == "master":
			st.master = pid
			st.reloads, _ = strconv.Atoi(f[2])
			if len(f) >= 5 && f[3] == "[failed:" {
				st.failed, _ = strconv.Atoi(strings.TrimSuffix(f[4], "]"))
			}
		case f[1] == "worker" && section == "workers" && st.worker == 0:
			st.worker = pid
		}
	}
	if st.master == 0 {
		return st, fmt.Errorf("unexpected show proc output %q", out)
	}
	return st, nil
}

// masterCommand sends one line to the master CLI and returns the answer.
func (p *Provider) masterCommand(ctx context.Context, line string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", filepath.Join(p.dir, masterSocket))
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	// The master CLI answers once the request side is closed.
	_ = c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	return string(b), err
}

// workerCommands runs commands on the current worker through the master
// CLI, so they never reach an old worker that is finishing after a reload.
func (p *Provider) workerCommands(ctx context.Context, worker int, cmds []string) (string, error) {
	var b strings.Builder
	prefix := "@!" + strconv.Itoa(worker) + " "
	for i, c := range cmds {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(prefix)
		b.WriteString(c)
	}
	return p.masterCommand(ctx, b.String())
}

// reload asks the master to reload and waits until a new worker runs.
func (p *Provider) reload(ctx context.Context) error {
	before, err := p.showProc(ctx)
	if err != nil {
		return fmt.Errorf("show proc: %w", err)
	}
	logPath := filepath.Join(p.dir, logFile)
	var offset int64
	if fi, err := os.Stat(logPath); err == nil {
		offset = fi.Size()
	}
	// The master re-executes itself and drops the connection: no answer.
	_, _ = p.masterCommand(ctx, "reload")
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		st, err := p.showProc(ctx)
		switch {
		case err != nil:
			last = err
		case st.failed > before.failed:
			return fmt.Errorf("haproxy could not load the new config (reload failed)%s", logTail(logPath, offset))
		case st.reloads > before.reloads && st.worker != 0 && st.worker != before.worker:
			p.worker = st.worker
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("no new worker 30s after reload (last error: %v)", last)
}
