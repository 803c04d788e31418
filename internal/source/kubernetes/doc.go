// Package kubernetes is the source that watches a Kubernetes cluster: it
// feeds the engine Ingresses, IngressClasses, Services, EndpointSlices and
// TLS Secrets, reports what happened as Kubernetes Events, and, on the
// elected leader only, writes the load balancers' addresses into the status
// of the Ingresses they serve.
//
// # Theory of operation
//
// Source runs shared informers: one factory per watched namespace (or one
// for all namespaces) for Ingresses, Services, EndpointSlices (only those
// labelled kubernetes.io/service-name, the only ones the translator reads)
// and Secrets (only type kubernetes.io/tls, by field selector; Opaque
// ones trimmed, authsecrets.go), ConfigMaps when some response header is
// allowed (trimmed, configmaps.go), one
// cluster-wide factory for IngressClasses, and, with a publish Service, one
// that watches only that Service. A transform strips managedFields and the
// kubectl last-applied annotation from every object before it is cached:
// they are large and never read. Run starts the informers and waits for
// every cache to sync before it calls the engine's trigger; until then
// Snapshot blocks, and Ready fails, so the engine never applies a config
// built from a half-filled cache. After that every add, update and delete
// triggers the engine, which coalesces triggers; updates that carry the same
// resourceVersion (resyncs and relists) and Ingress updates that changed
// only the status are ignored. Snapshot reads the listers; the objects are
// shared with the cache and must not be modified.
//
// When the API server is unreachable the informers keep their caches and
// retry with backoff, the engine keeps the last applied config and the
// proxy keeps serving it. When the server returns, the informers resume
// their watches (relisting if the server no longer has their
// resourceVersion), and every change made meanwhile arrives as an ordinary
// event.
//
// Events records Kubernetes Events through a client-go EventRecorder
// (component "ingress-controller"): a Normal "Sync" on an Ingress when a
// config holding a new version of it (new UID, generation or annotations)
// has been applied, and a Warning, with the problem's reason and a message
// naming the field, on the object at fault when a translation problem first
// appears. A problem that persists is reported once, not on every
// reconcile; one that goes away and comes back is reported again.
//
// Election runs client-go leader election on a Lease. Only the holder runs
// the StatusWriter, which owns status.loadBalancer.ingress of the Ingresses
// in the translated config: it publishes the --publish-status-address
// addresses, else the publish Service's load-balancer addresses, else, when
// some live replica has a public address, those of the replicas that serve
// the load balancer, else the addresses the provider reports, listing ports
// only where they are not 80 and 443. It compares with the cached object before writing, so an
// unchanged status is never written again, retries on conflict, and clears
// the status of an Ingress it no longer serves only when that status is one
// it published, so another controller's status is never clobbered. When
// another writer keeps replacing the status of an Ingress we serve, it backs
// off exponentially for that Ingress and warns (ingressstatus.Fights,
// ReasonStatusConflict) instead of fighting. When the
// process stops the lease is released (ReleaseOnCancel), after clearing the
// status of our Ingresses if asked to.
//
// Membership makes every replica, leader or not, visible: each keeps a
// Lease of its own, "<election-id>-replica-<replica>", labelled with the
// election ID and annotated with its public address and the load balancers
// it serves, renewed every third of its duration and deleted when the
// replica stops (or, with a shutdown delay, when it begins: Leave).
// ReplicaWatch follows them and says when the live ones change, also when
// a Lease runs out; the leading StatusWriter syncs then. Assignment decides
// from them which load balancers this replica serves (scale and rendezvous
// hashing, assignment.go) and drains those that move away.
//
// With the Gateway API (gatewayapi.go) the leader also runs the
// GatewayStatusWriter, which writes the status the translator computes
// and, with Services on (gatewayservice.go), keeps a headless Service and
// its EndpointSlices per accepted Gateway, planned as data from the
// cached objects and never written over an object of a user.
package kubernetes
