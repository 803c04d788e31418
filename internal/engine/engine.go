// Package engine is the reconcile loop between a source and a provider.
//
// Theory of operation: sources call Trigger whenever anything they watch
// changes. Triggers are coalesced into one pending reconcile (a channel with
// room for one token) and debounced: the engine waits until the source has
// been quiet for Debounce, but never longer than MaxDelay after the first
// trigger, so a stream of changes cannot starve it. Only one reconcile runs
// at a time. A reconcile takes a snapshot from the source, translates it,
// validates the result, diffs it against the last applied config and calls
// the provider only if something changed. A provider that can validate
// (provider.Validator) is asked first; if it rejects the config, the
// objects at fault are looked for (isolate.go) and the config without them
// is applied, with a problem on each, and retried later. If the provider
// fails otherwise, the last good config stays live (providers apply all or
// nothing) and the reconcile is retried with exponential backoff.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// Source gives the engine the objects to translate.
type Source interface {
	Snapshot() *translate.Snapshot
}

// Origins is implemented by sources that can say where an object came from
// (e.g. a manifest file), so problems can name it.
type Origins interface {
	Origin(ref lbconfig.ObjectRef) string
}

// Options configure an Engine.
type Options struct {
	Source    Source
	Provider  provider.Provider
	Translate translate.Options
	Logger    *slog.Logger
	// Debounce is how long the source must be quiet before a reconcile;
	// default 50ms.
	Debounce time.Duration
	// MaxDelay bounds the wait after the first trigger; default 500ms.
	MaxDelay time.Duration
	// OnProblems, if set, gets the problems of every translation, sorted,
	// those of them that are new since the last call, and the snapshot
	// they were found in.
	OnProblems func(snap *translate.Snapshot, all, added []translate.Problem)
	// OnApplied, if set, is called after every successful apply, with the
	// snapshot the config was translated from.
	OnApplied func(snap *translate.Snapshot, cfg *lbconfig.Config, res provider.Result)
	// Assign, if set, picks the part of a translated config this process
	// serves (the load balancers assigned to this replica); the provider
	// gets only that part. It is called once per reconcile, before the
	// provider validates anything.
	Assign func(cfg *lbconfig.Config) *lbconfig.Config
	// OnTranslated, if set, gets the whole translated config, every load
	// balancer whether this process serves it or not, whenever it changed
	// and what this process serves of it is applied.
	OnTranslated func(cfg *lbconfig.Config)
	// Metrics, if set, records every reconcile.
	Metrics *Metrics
}

// Engine runs reconciles. Create it with New.
type Engine struct {
	opts    Options
	log     *slog.Logger
	trigger chan struct{}

	mu       sync.Mutex
	last     *lbconfig.Config // last config the provider accepted
	lastFull *lbconfig.Config // last translation handed to OnTranslated
	problems []translate.Problem
	status   Status
}

// Status is what the engine has done so far, for health and metrics.
type Status struct {
	// Applied counts successful applies; the first one makes the controller
	// ready.
	Applied int
	// Reconciles counts reconciles, including those that changed nothing.
	Reconciles int
	// Errors counts failed reconciles.
	Errors int
	// LastApply is when the last successful apply finished.
	LastApply time.Time
	// LastError is the error of the last reconcile, nil if it succeeded.
	LastError error
}

// New returns an engine; call Run to start it.
func New(opts Options) *Engine {
	if opts.Debounce <= 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 500 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{opts: opts, log: opts.Logger, trigger: make(chan struct{}, 1)}
	e.Trigger() // the first reconcile runs without waiting for a change
	return e
}

// Trigger asks for a reconcile. It never blocks; triggers coalesce.
func (e *Engine) Trigger() {
	select {
	case e.trigger <- struct{}{}:
	default:
	}
}

// Status returns a copy of the engine's status.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// Problems returns the problems of the last reconcile, sorted. It must not
// be modified.
func (e *Engine) Problems() []translate.Problem {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.problems
}

// LastApplied returns the config the provider last accepted, or nil. It must
// not be modified.
func (e *Engine) LastApplied() *lbconfig.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// Run reconciles on every trigger until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	const minBackoff, maxBackoff = 200 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.trigger:
		case <-retry:
		}
		retry = nil
		if !e.settle(ctx) {
			return nil
		}
		if err := e.reconcile(ctx); err != nil {
			if errors.As(err, new(partialError)) {
				// Served without the objects at fault; try them again.
				e.log.Warn("objects left out; retrying them", "error", err, "retry_in", backoff)
			} else {
				e.log.Error("reconcile failed; the last good config keeps serving", "error", err, "retry_in", backoff)
			}
			retry = time.After(backoff)
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
	}
}

// settle waits until no trigger arrived for Debounce, or MaxDelay passed. It
// returns false if ctx ended.
func (e *Engine) settle(ctx context.Context) bool {
	deadline := time.NewTimer(e.opts.MaxDelay)
	defer deadline.Stop()
	quiet := time.NewTimer(e.opts.Debounce)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-quiet.C:
			return true
		case <-e.trigger:
			quiet.Reset(e.opts.Debounce)
		}
	}
}

func (e *Engine) reconcile(ctx context.Context) (err error) {
	start := time.Now()
	applied := false
	// rejection is set when the config was applied without objects the
	// provider rejected.
	var rejection error
	defer func() {
		if err == nil && rejection != nil {
			err = partialError{fmt.Errorf("provider %s rejected the config; served without some objects: %w", e.opts.Provider.Name(), rejection)}
		}
		e.mu.Lock()
		e.status.Reconciles++
		e.status.LastError = err
		if err != nil {
			e.status.Errors++
		}
		e.mu.Unlock()
		if m := e.opts.Metrics; m != nil {
			result := "unchanged"
			switch {
			case err != nil:
				result = "error"
			case applied:
				result = "applied"
			}
			m.reconciles.WithLabelValues(result).Inc()
			m.reconcileTime.Observe(time.Since(start).Seconds())
		}
	}()
	snap := e.opts.Source.Snapshot()
	full, problems := translate.Ingresses(snap, e.opts.Translate)
	if err := full.Validate(); err != nil {
		e.reportProblems(snap, problems)
		// The translator must only produce valid configs; if it did not, do
		// not hand the provider something it may half-apply.
		return fmt.Errorf("translated config is invalid: %w", err)
	}
	cfg := full
	if e.opts.Assign != nil {
		cfg = e.opts.Assign(full)
	}
	e.mu.Lock()
	last := e.last
	e.mu.Unlock()
	if last != nil && lbconfig.Diff(last, cfg).Empty() {
		e.reportProblems(snap, problems)
		e.translated(full)
		return nil
	}
	if v, ok := e.opts.Provider.(provider.Validator); ok {
		if err := v.Validate(ctx, cfg); err != nil {
			iso, found := e.isolate(ctx, snap, cfg, v, err)
			if !found {
				e.reportProblems(snap, problems)
				return fmt.Errorf("provider %s rejected the config: %w", e.opts.Provider.Name(), err)
			}
			// Applied below, and retried with backoff: the objects left
			// out may be served once what stopped them (a port) is gone.
			full, cfg, problems, rejection = iso.full, iso.served, iso.problems, err
		}
	}
	e.reportProblems(snap, problems)
	changes := lbconfig.Diff(last, cfg)
	if last != nil && changes.Empty() {
		e.translated(full)
		return nil
	}
	applyStart := time.Now()
	res, err := e.opts.Provider.Apply(ctx, cfg)
	if err != nil {
		return fmt.Errorf("provider %s: apply: %w", e.opts.Provider.Name(), err)
	}
	applied = true
	now := time.Now()
	e.mu.Lock()
	e.last = cfg
	e.status.Applied++
	e.status.LastApply = now
	generation := e.status.Applied
	e.mu.Unlock()
	if m := e.opts.Metrics; m != nil {
		m.applyTime.Observe(now.Sub(applyStart).Seconds())
		m.generation.Set(float64(generation))
		m.lastApply.Set(float64(now.UnixNano()) / 1e9)
		m.observeConfig(cfg)
	}
	e.log.Info("config applied", "provider", e.opts.Provider.Name(),
		"load_balancers", len(cfg.LoadBalancers), "backends", len(cfg.Backends),
		"structure_changed", changes.Structure, "endpoint_changes", len(changes.Endpoints),
		"duration", now.Sub(applyStart))
	if e.opts.OnApplied != nil {
		e.opts.OnApplied(snap, cfg, res)
	}
	e.translated(full)
	return nil
}

// translated hands full to OnTranslated if it differs from the last one.
func (e *Engine) translated(full *lbconfig.Config) {
	if e.opts.OnTranslated == nil {
		return
	}
	e.mu.Lock()
	lastFull := e.lastFull
	e.lastFull = full
	e.mu.Unlock()
	if lastFull != nil && lbconfig.Diff(lastFull, full).Empty() {
		return
	}
	e.opts.OnTranslated(full)
}

// partialError is a reconcile that applied a config without the objects
// the provider rejected.
type partialError struct{ err error }

func (e partialError) Error() string { return e.err.Error() }
func (e partialError) Unwrap() error { return e.err }

// reportProblems logs problems that are new since the last translation, so
// a persistent problem is logged once, not on every reconcile, and hands
// them to OnProblems with the new ones worked out once for both.
func (e *Engine) reportProblems(snap *translate.Snapshot, problems []translate.Problem) {
	e.mu.Lock()
	prev := e.problems
	e.problems = problems
	e.mu.Unlock()
	origins, _ := e.opts.Source.(Origins)
	seen := make(map[translate.Problem]bool, len(prev))
	for _, p := range prev {
		seen[p] = true
	}
	now := make(map[translate.Problem]bool, len(problems))
	var added []translate.Problem
	for _, p := range problems {
		now[p] = true
		if seen[p] {
			continue
		}
		added = append(added, p)
		attrs := []any{"object", p.Object.String(), "field", p.Field, "reason", p.Reason}
		if origins != nil {
			if o := origins.Origin(p.Object); o != "" {
				attrs = append(attrs, "file", o)
			}
		}
		e.log.Warn(p.Message, attrs...)
	}
	for _, p := range prev {
		if !now[p] {
			e.log.Info("problem resolved", "object", p.Object.String(), "field", p.Field, "reason", p.Reason)
		}
	}
	if e.opts.OnProblems != nil {
		e.opts.OnProblems(snap, problems, added)
	}
	if m := e.opts.Metrics; m != nil {
		m.problems.Set(float64(len(problems)))
	}
}
