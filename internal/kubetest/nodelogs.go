package kubetest

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// maxLogLines bounds what a container's log keeps; older lines go.
	maxLogLines = 20000
	// maxLogLine cuts one line, as a runtime splits long lines.
	maxLogLine = 16 << 10
	// followPoll is how often a followed log looks for new lines.
	followPoll = 100 * time.Millisecond
)

// logBuffer is a container's log: its output lines with the time each was
// written, which pods/log's sinceTime and timestamps need.
type logBuffer struct {
	mu      sync.Mutex
	lines   []logLine
	dropped int // lines dropped from the front, so followers keep their place
}

type logLine struct {
	at   time.Time
	text string
}

func newLogBuffer() *logBuffer { return &logBuffer{} }

func (b *logBuffer) add(stream, text string) {
	_ = stream // one log for both, as kubectl logs shows them
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, logLine{at: time.Now(), text: text})
	if len(b.lines) > maxLogLines {
		n := len(b.lines) - maxLogLines
		b.lines = append(b.lines[:0:0], b.lines[n:]...)
		b.dropped += n
	}
}

// since returns the lines from absolute index i on and the index after
// them.
func (b *logBuffer) since(i int) ([]logLine, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i = max(i-b.dropped, 0)
	out := append([]logLine(nil), b.lines[i:]...)
	return out, b.dropped + len(b.lines)
}

// writer returns an io.Writer that adds each complete line it is given.
func (b *logBuffer) writer(stream string) io.Writer {
	return &lineSplitter{buf: b, stream: stream}
}

type lineSplitter struct {
	buf     *logBuffer
	stream  string
	pending []byte
}

func (w *lineSplitter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 && len(w.pending) < maxLogLine {
			return len(p), nil
		}
		if i < 0 || i > maxLogLine {
			i = maxLogLine
			w.buf.add(w.stream, string(w.pending[:i]))
			w.pending = w.pending[i:]
			continue
		}
		w.buf.add(w.stream, string(w.pending[:i]))
		w.pending = w.pending[i+1:]
	}
}

// logQuery is what pods/log passes on to the kubelet.
type logQuery struct {
	follow     bool
	timestamps bool
	tailLines  int // < 0: all
	limitBytes int // <= 0: no limit
	since      time.Time
}

func parseLogQuery(r *http.Request) (logQuery, error) {
	q := r.URL.Query()
	lq := logQuery{tailLines: -1}
	var err error
	if v := q.Get("follow"); v != "" {
		if lq.follow, err = strconv.ParseBool(v); err != nil {
			return lq, fmt.Errorf("follow: %w", err)
		}
	}
	if v := q.Get("timestamps"); v != "" {
		if lq.timestamps, err = strconv.ParseBool(v); err != nil {
			return lq, fmt.Errorf("timestamps: %w", err)
		}
	}
	if v := q.Get("tailLines"); v != "" {
		if lq.tailLines, err = strconv.Atoi(v); err != nil || lq.tailLines < 0 {
			return lq, fmt.Errorf("tailLines: %q", v)
		}
	}
	if v := q.Get("limitBytes"); v != "" {
		if lq.limitBytes, err = strconv.Atoi(v); err != nil || lq.limitBytes <= 0 {
			return lq, fmt.Errorf("limitBytes: %q", v)
		}
	}
	if v := q.Get("sinceTime"); v != "" {
		if lq.since, err = time.Parse(time.RFC3339, v); err != nil {
			return lq, fmt.Errorf("sinceTime: %w", err)
		}
	}
	if v := q.Get("sinceSeconds"); v != "" {
		s, err := strconv.Atoi(v)
		if err != nil || s <= 0 {
			return lq, fmt.Errorf("sinceSeconds: %q", v)
		}
		lq.since = time.Now().Add(-time.Duration(s) * time.Second)
	}
	return lq, nil
}

// kubeletHandler serves what the apiserver asks a kubelet for here:
// GET /containerLogs/<namespace>/<pod>/<container> (pods/log) and
// /healthz. Exec, attach and port-forward are not served.
func (n *Node) kubeletHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", n.serveLogs)
	return mux
}

func (n *Node) serveLogs(w http.ResponseWriter, r *http.Request) {
	if !fromAPIServer(r.TLS.PeerCertificates) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	q, err := parseLogQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ns, name, cname := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	c, p := n.findContainer(ns, name, cname)
	if c == nil {
		http.Error(w, fmt.Sprintf("container %q in pod %s/%s is not running on node %s", cname, ns, name, n.Name), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	lw := &limitWriter{w: w, left: q.limitBytes}
	lines, next := c.logs.since(0)
	lines = selectLines(lines, q)
	for _, l := range lines {
		if !lw.line(l, q.timestamps) {
			return
		}
	}
	if !q.follow {
		return
	}
	flusher, _ := w.(http.Flusher)
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for {
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-p.done:
			return
		case <-t.C:
		}
		var more []logLine
		more, next = c.logs.since(next)
		for _, l := range more {
			if !lw.line(l, q.timestamps) {
				return
			}
		}
	}
}

// fromAPIServer says whether the client certificate is the apiserver's
// kubelet client (the TLS config already checked it is the cluster CA's).
func fromAPIServer(chain []*x509.Certificate) bool {
	return len(chain) > 0 && chain[0].Subject.CommonName == kubeletClientUser
}

func (n *Node) findContainer(ns, name, container string) (*podContainer, *nodePod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.pods {
		if p.namespace == ns && p.name == name {
			if c := p.container(container); c != nil {
				return c, p
			}
		}
	}
	return nil, nil
}

// selectLines applies sinceTime/sinceSeconds, then tailLines.
func selectLines(lines []logLine, q logQuery) []logLine {
	if !q.since.IsZero() {
		i := 0
		for i < len(lines) && lines[i].at.Before(q.since) {
			i++
		}
		lines = lines[i:]
	}
	if q.tailLines >= 0 && len(lines) > q.tailLines {
		lines = lines[len(lines)-q.tailLines:]
	}
	return lines
}

// limitWriter writes log lines until limitBytes is reached.
type limitWriter struct {
	w    io.Writer
	left int // <= 0 at the start: no limit
}

func (lw *limitWriter) line(l logLine, timestamps bool) bool {
	var b strings.Builder
	if timestamps {
		b.WriteString(l.at.UTC().Format(time.RFC3339Nano))
		b.WriteByte(' ')
	}
	b.WriteString(l.text)
	b.WriteByte('\n')
	s := b.String()
	limited := lw.left > 0
	if limited && len(s) >= lw.left {
		io.WriteString(lw.w, s[:lw.left])
		return false
	}
	if limited {
		lw.left -= len(s)
	}
	_, err := io.WriteString(lw.w, s)
	return err == nil
}
