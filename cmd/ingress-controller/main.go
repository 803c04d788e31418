// Command ingress-controller watches a source of routing intent (Kubernetes
// Ingress objects, from a cluster or from manifest files), translates it into
// a generic load-balancer config and hands that to a provider that serves it.
//
// This file only parses flags and wires the parts together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"ingress-controller/internal/admin"
	"ingress-controller/internal/engine"
	"ingress-controller/internal/provider/builtin"
	"ingress-controller/internal/source/file"
	"ingress-controller/internal/translate"
	"ingress-controller/pkg/provider"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type flags struct {
	source        string
	provider      string
	manifests     string
	httpPort      int
	httpsPort     int
	listenAddress string
	ingressClass  string
	logLevel      string
	logFormat     string
	metricsAddr   string
	version       bool
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("ingress-controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.source, "source", "file", "where routing intent comes from: file (manifests in --manifests)")
	fs.StringVar(&f.provider, "provider", "builtin", "what serves the traffic: builtin (the in-process Go proxy)")
	fs.StringVar(&f.manifests, "manifests", "", "directory of Kubernetes YAML manifests (Ingress, IngressClass, Service, EndpointSlice, Secret) read by --source=file; changes are picked up within a second")
	fs.IntVar(&f.httpPort, "http-port", 80, "public port of the HTTP listener")
	fs.IntVar(&f.httpsPort, "https-port", 443, "public port of the HTTPS listener")
	fs.StringVar(&f.listenAddress, "listen-address", "", "IP address the public listeners bind to (default: all addresses)")
	fs.StringVar(&f.ingressClass, "ingress-class", translate.DefaultIngressClass, "IngressClass name served, in addition to every IngressClass whose spec.controller is "+translate.DefaultControllerName)
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:10254", "address of /healthz, /readyz, /metrics and /debug/pprof; keep it on localhost or protect it")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ingress-controller [flags]\n\n"+
			"Serves Kubernetes Ingress routing through a pluggable load-balancer provider.\n"+
			"Example: ingress-controller --source=file --manifests=examples/quickstart --provider=builtin --http-port=8080\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for name, p := range map[string]int{"http-port": f.httpPort, "https-port": f.httpsPort} {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("--%s: %d is not a port number", name, p)
		}
	}
	return f, nil
}

func newLogger(f *flags, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", f.logFormat)
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "ingress-controller:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if f.version {
		fmt.Fprintln(stdout, "ingress-controller", version)
		return nil
	}
	log, err := newLogger(f, stderr)
	if err != nil {
		return err
	}

	var providers provider.Registry
	providers.Register("builtin", func(o provider.Options) (provider.Provider, error) {
		return builtin.New(o, log.With("provider", "builtin")), nil
	})
	prov, err := providers.New(f.provider, provider.Options{ListenAddress: f.listenAddress})
	if err != nil {
		return fmt.Errorf("--provider: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	topts := translate.Options{
		ControllerName: translate.DefaultControllerName,
		IngressClass:   f.ingressClass,
		HTTPPort:       int32(f.httpPort),
		HTTPSPort:      int32(f.httpsPort),
	}
	switch f.source {
	case "file":
		if f.manifests == "" {
			return errors.New("--source=file needs --manifests DIR")
		}
		src := file.New(f.manifests, 0, log)
		if err := src.Load(); err != nil {
			return fmt.Errorf("--manifests: %w", err)
		}
		eng := engine.New(engine.Options{Source: src, Provider: prov, Translate: topts, Logger: log.With("component", "engine"), Metrics: engine.NewMetrics(reg)})
		adm := admin.New(f.metricsAddr, reg, log.With("component", "admin"), readiness(eng, prov)...)
		log.Info("starting", "version", version, "source", f.source, "provider", prov.Name(), "manifests", f.manifests, "http_port", f.httpPort)
		err := runAll(ctx,
			func(ctx context.Context) error { return src.Run(ctx, eng.Trigger) },
			func(ctx context.Context) error { return eng.Run(ctx) },
			func(ctx context.Context) error { return prov.Run(ctx, make(chan provider.Result, 1)) },
			adm.Run,
		)
		log.Info("stopped")
		return err
	}
	return fmt.Errorf("--source: unknown source %q (known: file)", f.source)
}

// runAll runs every function until all return; the first error or return
// cancels the others' context.
func runAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() {
			errs <- fn(ctx)
			cancel()
		}()
	}
	var all []error
	for range fns {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// readiness is ready once the engine applied a config and the provider, if
// it can tell, says it serves.
func readiness(eng *engine.Engine, prov provider.Provider) []admin.Check {
	checks := []admin.Check{func(context.Context) error {
		if eng.Status().Applied == 0 {
			return errors.New("no config applied yet")
		}
		return nil
	}}
	if hc, ok := prov.(provider.HealthChecker); ok {
		checks = append(checks, hc.Healthy)
	}
	return checks
}
