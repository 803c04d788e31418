package kubernetes

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// Component is the source.component of the Events we record.
const Component = "ingress-controller"

// Event reasons of our own; problems use the translator's reasons.
const (
	// ReasonSync says a config holding a new version of an Ingress is live.
	ReasonSync = "Sync"
)

// maxEventMessage is the longest message the events API accepts.
const maxEventMessage = 1024

// EventsOptions configure Events.
type EventsOptions struct {
	Client clientset.Interface
	// Provider is the provider's name, for Sync messages.
	Provider string
	Logger   *slog.Logger
}

// Events turns engine callbacks into Kubernetes Events: wire Problems to
// engine.Options.OnProblems and Applied to engine.Options.OnApplied.
type Events struct {
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	sink        *flushingSink
	provider    string
	log         *slog.Logger

	mu sync.Mutex
	// versions are the Ingress versions in the last applied config.
	versions map[lbconfig.ObjectRef]string
}

// NewEvents starts recording Events through the API until Stop. Events
// are sent in the background; when the API server is unreachable client-go
// retries them a few times and then drops them.
//
// The broadcaster's life is not tied to a context: what records Events on
// the way out (the leader election's "stopped leading") returns only after
// the context ended, so Events must stop after it, not with it.
func NewEvents(opts EventsOptions) *Events {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	b := record.NewBroadcaster()
	sink := &flushingSink{EventSink: &typedcorev1.EventSinkImpl{Interface: opts.Client.CoreV1().Events("")}}
	b.StartRecordingToSink(sink)
	host, _ := os.Hostname()
	return &Events{
		broadcaster: b,
		recorder:    b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Component, Host: host}),
		sink:        sink,
		provider:    opts.Provider,
		log:         log,
		versions:    map[lbconfig.ObjectRef]string{},
	}
}

// Stop waits until the Events recorded so far have been written (or ctx
// ends) and stops recording. Call it once, after everything that records
// Events has returned: recording after Stop fails.
func (e *Events) Stop(ctx context.Context) {
	flushed := e.sink.barrier()
	// The recorder hands Events to a single goroutine that writes them in
	// order, so once the marker reaches the sink every earlier Event has
	// been written or given up on.
	// The marker is about nothing in the cluster, so that it has a key of its
	// own in client-go's spam filter.
	marker := &corev1.ObjectReference{Kind: "Flush", Namespace: "default", Name: Component + "-flush"}
	e.recorder.Event(marker, corev1.EventTypeNormal, reasonFlush, "flush")
	select {
	case <-flushed:
	case <-ctx.Done():
		e.log.Warn("stopping Events before the last ones were written", "err", ctx.Err())
	}
	e.broadcaster.Shutdown()
}

// reasonFlush marks the Event that Stop sends through the pipeline; the
// sink swallows it.
const reasonFlush = "IngressControllerFlush"

// flushingSink writes Events through EventSink, except the flush marker,
// which it answers without a request and signals to barrier's channel.
type flushingSink struct {
	record.EventSink

	mu      sync.Mutex
	flushed chan struct{}
}

func (s *flushingSink) barrier() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushed = make(chan struct{})
	return s.flushed
}

// marker reports whether event is the flush marker, and closes the
// barrier's channel if so.
func (s *flushingSink) marker(event *corev1.Event) bool {
	if event.Reason != reasonFlush || event.Source.Component != Component {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flushed != nil {
		close(s.flushed)
		s.flushed = nil
	}
	return true
}

func (s *flushingSink) Create(event *corev1.Event) (*corev1.Event, error) {
	if s.marker(event) {
		return event, nil
	}
	return s.EventSink.Create(event)
}

func (s *flushingSink) Update(event *corev1.Event) (*corev1.Event, error) {
	if s.marker(event) {
		return event, nil
	}
	return s.EventSink.Update(event)
}

func (s *flushingSink) Patch(event *corev1.Event, data []byte) (*corev1.Event, error) {
	if s.marker(event) {
		return event, nil
	}
	return s.EventSink.Patch(event, data)
}

// Recorder is the underlying recorder, e.g. for leader-election events.
func (e *Events) Recorder() record.EventRecorder { return e.recorder }

// Problems records a Warning on the object at fault, found in snap, for
// every problem in added (those new since the last call, as the engine's
// OnProblems gives them).
func (e *Events) Problems(snap *translate.Snapshot, _, added []translate.Problem) {
	if len(added) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ix := indexSnapshot(snap)
	for _, p := range added {
		msg := p.Message
		if p.Field != "" {
			msg = p.Field + ": " + msg
		}
		e.recorder.Event(ix.objectOrRef(p.Object), corev1.EventTypeWarning, p.Reason, truncate(msg, maxEventMessage))
	}
}

// Applied records a Normal Sync on every Ingress of cfg that is new, or
// changed since the last applied config.
func (e *Events) Applied(snap *translate.Snapshot, cfg *lbconfig.Config, _ provider.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ix := indexSnapshot(snap)
	now := map[lbconfig.ObjectRef]string{}
	for _, lb := range cfg.LoadBalancers {
		for _, ref := range lb.Sources {
			ing, ok := ix.objects[ref].(*networkingv1.Ingress)
			if !ok {
				continue
			}
			v := ingressVersion(ing)
			now[ref] = v
			if e.versions[ref] == v {
				continue
			}
			e.recorder.Eventf(ing, corev1.EventTypeNormal, ReasonSync,
				"Configuration applied by provider %s (load balancer %q)", e.provider, lb.Name)
		}
	}
	e.versions = now
}

// ingressVersion changes whenever what the translator reads of ing may
// have: the object was recreated, its spec changed (generation) or its
// annotations did. Status updates do not change it.
func ingressVersion(ing *networkingv1.Ingress) string {
	h := fnv.New64a()
	keys := make([]string, 0, len(ing.Annotations))
	for k := range ing.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, ing.Annotations[k])
	}
	return fmt.Sprintf("%s/%d/%x", ing.UID, ing.Generation, h.Sum64())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// snapshotIndex finds the objects of one snapshot by reference.
type snapshotIndex struct {
	objects map[lbconfig.ObjectRef]runtime.Object
}

func indexSnapshot(snap *translate.Snapshot) *snapshotIndex {
	ix := &snapshotIndex{objects: map[lbconfig.ObjectRef]runtime.Object{}}
	for ref, obj := range snap.Objects() {
		ix.objects[ref] = obj
	}
	return ix
}

// objectOrRef returns the object ref names, or a bare reference to it when
// it is not in the snapshot, so that the event still names it.
//
// Objects of kinds client-go's scheme does not know (Gateway API) are
// named by a reference too, with their UID, as the recorder cannot find
// their kind.
func (ix *snapshotIndex) objectOrRef(ref lbconfig.ObjectRef) runtime.Object {
	apiVersion := translate.APIVersion(ref.Kind)
	if apiVersion == "" {
		apiVersion = corev1.SchemeGroupVersion.String()
	}
	r := &corev1.ObjectReference{Kind: ref.Kind, APIVersion: apiVersion, Namespace: ref.Namespace, Name: ref.Name}
	obj, ok := ix.objects[ref]
	if !ok {
		return r
	}
	if _, _, err := scheme.Scheme.ObjectKinds(obj); err != nil {
		if m, ok := obj.(metav1.Object); ok {
			r.UID, r.ResourceVersion = m.GetUID(), m.GetResourceVersion()
		}
		return r
	}
	return obj
}
