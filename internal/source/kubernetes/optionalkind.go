package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/cache"
)

// An optional kind is one whose CRD a cluster may not have installed
// (TCPRoute, of Gateway API's standard channel since v1.5): an informer of
// a kind the API server does not serve would never sync and hold back
// every snapshot. Its factories are started only once discovery says the
// API server serves the kind; when it does not, its caches count as
// synced and empty, and a log line says that installing the CRD needs a
// restart. A discovery error is retried.

// optionalKind is an informerFactory over the factories of one optional
// kind.
type optionalKind struct {
	groupVersion, resource string
	disc                   discovery.DiscoveryInterface
	log                    *slog.Logger
	factories              []informerFactory
	informers              []cache.SharedIndexInformer
	decided, served        atomic.Bool
}

// optionalRetry bounds the wait between discovery attempts.
const optionalRetry = 30 * time.Second

// Start asks the API server, in the background, whether it serves the
// kind, and starts the factories if it does.
func (o *optionalKind) Start(stop <-chan struct{}) {
	go func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-stop
			cancel()
		}()
		served, ok := o.discover(ctx)
		if !ok {
			return
		}
		if !served {
			o.log.Info("the API server does not serve this kind (its CRD is not installed); its objects are not read, and installing it needs a restart", "resource", o.resource, "groupVersion", o.groupVersion)
			o.decided.Store(true)
			return
		}
		for _, f := range o.factories {
			f.Start(stop)
		}
		o.served.Store(true)
		o.decided.Store(true)
	}()
}

// Shutdown stops the factories, started or not.
func (o *optionalKind) Shutdown() {
	for _, f := range o.factories {
		f.Shutdown()
	}
}

// hasSynced is the cache's InformerSynced: true once the kind is known
// not to be served, or its informers synced.
func (o *optionalKind) hasSynced() bool {
	if !o.decided.Load() {
		return false
	}
	if !o.served.Load() {
		return true
	}
	for _, inf := range o.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// discover asks until the API server answers or ctx ends (ok false).
func (o *optionalKind) discover(ctx context.Context) (served, ok bool) {
	wait := time.Second
	for {
		served, err := serves(o.disc, o.groupVersion, o.resource)
		if err == nil {
			return served, true
		}
		o.log.Warn("discovery failed; retrying", "resource", o.resource, "groupVersion", o.groupVersion, "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return false, false
		case <-time.After(wait):
		}
		wait = min(wait*2, optionalRetry)
	}
}

// serves reports whether the API server serves resource in groupVersion.
func serves(disc discovery.DiscoveryInterface, groupVersion, resource string) (bool, error) {
	list, err := disc.ServerResourcesForGroupVersion(groupVersion)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discovery of %s: %w", groupVersion, err)
	}
	return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == resource }), nil
}
