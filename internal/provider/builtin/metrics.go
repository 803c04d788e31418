package builtin

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ingress-controller/internal/clip"
)

// proxyMetrics are the per-backend request metrics. The series of a
// backend are created when a table first has it and deleted when the
// applied table no longer does, so the metrics follow the config.
type proxyMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// byName holds the backends of the table in service; guarded by the
	// provider's mu.
	byName map[string]*backendMetrics
}

// backendMetrics are one backend's series, resolved once so that a request
// costs two atomic updates and no label lookup.
type backendMetrics struct {
	codes    [6]prometheus.Counter // by status class: 1xx at 1 ... 5xx at 5; 0 is "client gone"
	duration prometheus.Observer
}

var statusClasses = [6]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

func newProxyMetrics(reg prometheus.Registerer) *proxyMetrics {
	if reg == nil {
		return nil
	}
	m := &proxyMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingress_controller_backend_requests_total",
			Help: `Requests the builtin proxy sent to a backend, by status class ("none": the client went away before an answer).`,
		}, []string{"backend", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ingress_controller_backend_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by backend.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"backend"}),
		byName: map[string]*backendMetrics{},
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// attach gives every backend of t its series and deletes those of backends
// t no longer has. The caller holds the provider's mu.
func (m *proxyMetrics) attach(t *table) {
	if m == nil {
		return
	}
	keep := make(map[string]*backendMetrics, len(t.backends))
	for _, b := range t.backends {
		bm := m.byName[b.name]
		if bm == nil {
			bm = &backendMetrics{duration: m.duration.WithLabelValues(b.name)}
			for i, class := range statusClasses {
				bm.codes[i] = m.requests.WithLabelValues(b.name, class)
			}
		}
		keep[b.name] = bm
		b.metrics = bm
	}
	for name := range m.byName {
		if keep[name] == nil {
			m.requests.DeletePartialMatch(prometheus.Labels{"backend": name})
			m.duration.DeleteLabelValues(name)
		}
	}
	m.byName = keep
}

// observe counts a request that ended with status after d; a zero d (a
// response cut off) is counted but not timed. A nil receiver (no metrics)
// does nothing.
func (bm *backendMetrics) observe(status int, d time.Duration) {
	if bm == nil {
		return
	}
	class := status / 100
	if class < 0 || class > 5 {
		class = 0
	}
	bm.codes[class].Inc()
	if d > 0 {
		bm.duration.Observe(d.Seconds())
	}
}

// logAccess writes one access log line for r, if the access log is on.
func (p *Provider) logAccess(r *http.Request, b *backend, out outcome, start time.Time) {
	if p.opts.AccessLog == nil {
		return
	}
	p.writeAccess(accessEntry{client: remoteIP(r.RemoteAddr), method: r.Method, host: r.Host, path: r.URL.Path, proto: r.Proto, userAgent: r.UserAgent()}, b, out, start)
}

// accessEntry is what the access log says of a request.
type accessEntry struct {
	client, method, host, path, proto, userAgent string
}

// writeAccess writes one access log line. The query string is left out:
// it may hold credentials. Values the client chose are clipped: a line
// stays short whatever the request.
func (p *Provider) writeAccess(e accessEntry, b *backend, out outcome, start time.Time) {
	backendName := ""
	if b != nil {
		backendName = b.name
	}
	p.opts.AccessLog.LogAttrs(context.Background(), slog.LevelInfo, "request",
		slog.String("client", e.client),
		slog.String("method", e.method),
		slog.String("host", clip.Value(e.host)),
		slog.String("path", clip.Value(e.path)),
		slog.String("proto", e.proto),
		slog.Int("status", out.status),
		slog.Int64("bytes", out.bytes),
		slog.Duration("duration", time.Since(start)),
		slog.String("backend", backendName),
		slog.String("endpoint", out.endpoint),
		slog.String("user_agent", clip.Value(e.userAgent)),
	)
}
