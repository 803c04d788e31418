package kubernetes

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Leader-election defaults, as in the core Kubernetes controllers.
const (
	DefaultElectionID    = "ingress-controller-leader"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Leader is the work only the elected leader does.
type Leader interface {
	// Lead runs while this process holds the lease and returns when ctx
	// ends: leadership was lost or the process stops.
	Lead(ctx context.Context)
	// Resign runs when the process stops while leading, after Lead has
	// returned and before the lease is released.
	Resign(ctx context.Context)
}

// Leaders lead together: Lead runs the Lead of each at once and returns
// when all have; Resign resigns each in turn.
type Leaders []Leader

// Lead implements Leader.
func (ls Leaders) Lead(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() { l.Lead(ctx) })
	}
	wg.Wait()
}

// Resign implements Leader.
func (ls Leaders) Resign(ctx context.Context) {
	for _, l := range ls {
		l.Resign(ctx)
	}
}

// Election runs leader election on a Lease.
type Election struct {
	Client clientset.Interface
	// Namespace and Name of the Lease.
	Namespace, Name string
	// Identity is this process's name in the Lease; see NewIdentity.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod default to the Default*
	// constants.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Recorder, if set, records leadership changes as Events on the Lease.
	Recorder resourcelock.EventRecorder
	Logger   *slog.Logger
}

// Run takes part in the election until ctx ends, running leader while this
// process holds the lease. Losing the lease (the API server was unreachable
// for longer than RenewDeadline, say) stops leader and starts over as a
// candidate. When ctx ends while leading, it waits for leader.Lead to
// return and leader.Resign to finish, then releases the lease so that
// another process takes over at once.
func (e *Election) Run(ctx context.Context, leader Leader) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	log := e.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "leader-election", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
	log.Info("running for leader")

	// The elector's context outlives ctx until the leader has resigned:
	// cancelling it releases the lease.
	electCtx, stopElecting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElecting()
	for {
		var (
			mu      sync.Mutex
			leading bool
			done    = make(chan struct{}) // closed when the leader's work ended
		)
		cfg.Callbacks = leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leaseCtx context.Context) {
				defer close(done)
				if ctx.Err() != nil {
					return // won just as the process stops: nothing to do
				}
				mu.Lock()
				leading = true
				mu.Unlock()
				log.Info("became leader")
				workCtx, cancel := context.WithCancel(leaseCtx)
				stop := context.AfterFunc(ctx, cancel)
				leader.Lead(workCtx)
				stop()
				cancel()
				if ctx.Err() != nil && leaseCtx.Err() == nil {
					rctx, cancel := context.WithTimeout(leaseCtx, cfg.RenewDeadline)
					leader.Resign(rctx)
					cancel()
				}
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(identity string) {
				if identity != e.Identity {
					log.Info("new leader elected", "leader", identity)
				}
			},
		}
		le, err := leaderelection.NewLeaderElector(cfg)
		if err != nil {
			return err
		}
		ran := make(chan struct{})
		go func() {
			defer close(ran)
			le.Run(electCtx)
		}()
		select {
		case <-ctx.Done():
		case <-ran:
		}
		mu.Lock()
		wasLeading := leading
		mu.Unlock()
		if wasLeading {
			<-done
		}
		if ctx.Err() != nil {
			stopElecting()
			<-ran
			if wasLeading {
				log.Info("released leadership")
			}
			return nil
		}
		log.Warn("lost leadership; running for leader again")
	}
}

func (e *Election) config() (leaderelection.LeaderElectionConfig, error) {
	if e.Client == nil || e.Namespace == "" || e.Name == "" || e.Identity == "" {
		return leaderelection.LeaderElectionConfig{}, errors.New("leader election: Client, Namespace, Name and Identity are required")
	}
	cfg := leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
			Client:     e.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity, EventRecorder: e.Recorder},
		},
		LeaseDuration:   cmpOr(e.LeaseDuration, DefaultLeaseDuration),
		RenewDeadline:   cmpOr(e.RenewDeadline, DefaultRenewDeadline),
		RetryPeriod:     cmpOr(e.RetryPeriod, DefaultRetryPeriod),
		ReleaseOnCancel: true,
		Name:            e.Name,
	}
	return cfg, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
