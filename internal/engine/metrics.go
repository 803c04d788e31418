package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	"ingress-controller/pkg/lbconfig"
)

// Metrics are the engine's Prometheus metrics.
type Metrics struct {
	reconciles      *prometheus.CounterVec
	reconcileTime   prometheus.Histogram
	applyTime       prometheus.Histogram
	generation      prometheus.Gauge
	lastApply       prometheus.Gauge
	problems        prometheus.Gauge
	configBackends  prometheus.Gauge
	configRoutes    prometheus.Gauge
	configEndpoints prometheus.Gauge
}

// NewMetrics creates the engine's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ingress_controller_reconciles_total",
			Help: "Reconciles by result: applied (the provider got a new config), unchanged, or error.",
		}, []string{"result"}),
		reconcileTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingress_controller_reconcile_duration_seconds",
			Help:    "Time from snapshot to applied config, for every reconcile.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		applyTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ingress_controller_apply_duration_seconds",
			Help:    "Time the provider took to apply a config.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_config_generation",
			Help: "Number of configs applied since start.",
		}),
		lastApply: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_last_successful_apply_timestamp_seconds",
			Help: "Unix time of the last successful apply.",
		}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_problems",
			Help: "Problems found in the source objects by the last translation.",
		}),
		configBackends: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_config_backends",
			Help: "Backends in the applied config.",
		}),
		configRoutes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_config_routes",
			Help: "Routes in the applied config.",
		}),
		configEndpoints: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ingress_controller_config_endpoints",
			Help: "Endpoints in the applied config.",
		}),
	}
	reg.MustRegister(m.reconciles, m.reconcileTime, m.applyTime, m.generation, m.lastApply,
		m.problems, m.configBackends, m.configRoutes, m.configEndpoints)
	for _, r := range []string{"applied", "unchanged", "error"} {
		m.reconciles.WithLabelValues(r) // export zeros, so rates work from the start
	}
	return m
}

func (m *Metrics) observeConfig(cfg *lbconfig.Config) {
	routes, endpoints := 0, 0
	for _, lb := range cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, vh := range l.VirtualHosts {
				routes += len(vh.Routes)
			}
		}
	}
	for _, b := range cfg.Backends {
		endpoints += len(b.Endpoints)
	}
	m.configBackends.Set(float64(len(cfg.Backends)))
	m.configRoutes.Set(float64(routes))
	m.configEndpoints.Set(float64(endpoints))
}
