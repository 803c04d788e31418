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
	// Source supplies the objects that events are about.
	Source *Source
	// Provider is the provider's name, for Sync messages.
	Provider string
	Logger   *slog.Logger
}

// Events turns engine callbacks into Kubernetes Events: wire Problems to
// engine.Options.OnProblems and Applied to engine.Options.OnApplied.
type Events struct {
	recorder record.EventRecorder
	src      *Source
	provider string
	log      *slog.Logger

	mu sync.Mutex
	// problems are those of the last translation, already reported.
	problems map[translate.Problem]bool
	// versions are the Ingress versions in the last applied config.
	versions map[lbconfig.ObjectRef]string
}

// NewEvents starts recording Events through the API until ctx ends. Events
// are sent in the background; when the API server is unreachable client-go
// retries them a few times and then drops them.
func NewEvents(ctx context.Context, opts EventsOptions) *Events {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: opts.Client.CoreV1().Events("")})
	host, _ := os.Hostname()
	return &Events{
		recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Component, Host: host}),
		src:      opts.Source,
		provider: opts.Provider,
		log:      log,
		problems: map[translate.Problem]bool{},
		versions: map[lbconfig.ObjectRef]string{},
	}
}

// Recorder is the underlying recorder, e.g. for leader-election events.
func (e *Events) Recorder() record.EventRecorder { return e.recorder }

// Problems records a Warning on the object at fault for every problem that
// was not in the previous call's list.
func (e *Events) Problems(problems []translate.Problem) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ix *snapshotIndex
	now := make(map[translate.Problem]bool, len(problems))
	for _, p := range problems {
		now[p] = true
		if e.problems[p] {
			continue
		}
		if ix == nil {
			ix = indexSnapshot(e.src.lastSnapshot())
		}
		msg := p.Message
		if p.Field != "" {
			msg = p.Field + ": " + msg
		}
		e.recorder.Event(ix.objectOrRef(p.Object), corev1.EventTypeWarning, p.Reason, truncate(msg, maxEventMessage))
	}
	e.problems = now
}

// Applied records a Normal Sync on every Ingress of cfg that is new, or
// changed since the last applied config.
func (e *Events) Applied(cfg *lbconfig.Config, _ provider.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ix := indexSnapshot(e.src.lastSnapshot())
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
func (ix *snapshotIndex) objectOrRef(ref lbconfig.ObjectRef) runtime.Object {
	if obj, ok := ix.objects[ref]; ok {
		return obj
	}
	apiVersion := translate.APIVersion(ref.Kind)
	if apiVersion == "" {
		apiVersion = corev1.SchemeGroupVersion.String()
	}
	return &corev1.ObjectReference{Kind: ref.Kind, APIVersion: apiVersion, Namespace: ref.Namespace, Name: ref.Name}
}
