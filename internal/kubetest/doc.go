// Package kubetest runs a real etcd and kube-apiserver on loopback ports so
// that tests talk to the same API server, admission, validation and RBAC that
// users run against, instead of a fake clientset.
//
// # Theory of operation
//
// Start finds the pinned binaries (the directory named by $KUBETOOLS_DIR_BIN,
// or the one hack/build-kubetools.sh prints, building them on first use), makes
// a temp dir, and in it:
//
//   - starts etcd on two free 127.0.0.1 ports (client and peer), data in the
//     temp dir, with fsync off: the data only has to outlive an apiserver
//     restart, never a machine crash;
//   - generates a CA, a serving certificate for 127.0.0.1/localhost, an admin
//     client certificate (CN kubetest-admin, O system:masters) and an RSA
//     service-account key, all in Go;
//   - starts kube-apiserver on a free 127.0.0.1 port with client-certificate
//     authentication and Node,RBAC authorization, and waits until /readyz is
//     ok, the default namespace exists and the RBAC bootstrap roles exist.
//
// There is no controller manager, scheduler, kubelet or kube-proxy (but see
// the conformance cluster below): nothing
// creates ServiceAccounts or EndpointSlices, garbage-collects, or finalizes
// deleted namespaces (they stay Terminating). There is no kubernetes Service
// in default either (the endpoint reconciler is off: it refuses a loopback
// advertise address). Tests create the Services,
// EndpointSlices and Secrets they need. The apiserver rejects loopback
// addresses in EndpointSlices; use addresses in 198.18.0.0/15.
//
// Each process writes its output to a log file in the temp dir; errors from
// Start quote the tail of the relevant log. The processes are started from
// one goroutine locked to its OS thread for the life of the Cluster, with
// Pdeathsig=SIGKILL: they die with the test binary even if it is killed,
// and never earlier because some unrelated thread (for example one left
// locked in another network namespace) exited.
//
// Stop stops the apiserver, then etcd (SIGTERM, SIGKILL after a deadline),
// and removes the temp dir. The owner holds a flock on its temp dir while it
// lives, so the next Start removes dirs left by a test binary that was
// killed (go test -timeout): each holds about 120 MB of etcd WAL. StopAPIServer and StartAPIServer take the
// apiserver down and bring it back on the same port with the same flags,
// certificates and data, to test behaviour during a control-plane outage.
//
// # Use
//
// Start one cluster per test package in TestMain and share it; a start takes
// a few seconds. If the binaries cannot be found or built, fail: a skipped
// test would count as a pass.
//
//	var cluster *kubetest.Cluster
//
//	func TestMain(m *testing.M) {
//		os.Exit(kubetest.Main(m, &cluster))
//	}
//
// Tests should work in their own namespaces so that they do not see each
// other's objects. ConfigForUser gives a rest.Config for a restricted
// identity, to check that RBAC roles are least-privilege and sufficient.
// KubeconfigVia writes a kubeconfig for processes in other network
// namespaces, which reach the apiserver through a forwarder
// (nettest.Network.Forward).
//
// # Conformance cluster
//
// StartConformance (ConformanceMain in TestMain) starts what the Gateway
// API conformance suite (sigs.k8s.io/gateway-api/conformance, run
// unmodified) needs from a cluster: it creates Deployments of its
// echo-basic server, Services, Gateways and Routes, and sends real traffic
// to them. No container runtime, image registry or Docker can run on the
// machines this project tests on, so one part is a stand-in, and only one.
//
// Real, built by hack/build-kubetools.sh from the pinned modules and cached
// with etcd and kube-apiserver:
//
//   - kube-controller-manager of the apiserver's Kubernetes release
//     (hack/kubetools/kube-controller-manager, a pin the script checks
//     against the apiserver's) with the deployment, replicaset,
//     endpointslice, serviceaccount, serviceaccount-token,
//     root-ca-certificate-publisher, garbage-collector and namespace
//     controllers, no leader election, serving on 127.0.0.1;
//   - the Gateway API standard-channel CRDs (and the admission policy
//     released beside them) of sigs.k8s.io/gateway-api v1.6.3, copied by
//     the script from the module (hack/kubetools/gateway-api, a module of
//     its own so that gateway-api's Kubernetes versions never reach ours)
//     and applied server-side until established;
//   - echo-basic, built from sigs.k8s.io/gateway-api/conformance/echo-basic
//     of the same release.
//
// The stand-in is Node, for the kubelet and, since there is no scheduler,
// for binding: it registers a Node (Ready, InternalIP on a pod bridge,
// Lease renewed), binds every unscheduled Pod to itself, and for each Pod
// makes a network namespace with a veth on the bridge and an address in
// 198.18.128.0/17 (routes to 198.18.0.0/15 only, no default route; the root
// namespace reaches Pods over the bridge; each interface's MAC address is
// made of its IP address, so that a reused address answers whoever cached
// its MAC), writes its secret, configMap,
// downward API and projected volumes (service-account tokens from the
// TokenRequest API) as files, and runs echo-basic for each container
// whatever its image, command or args say, with the container's env
// (values with $(VAR) expanded, fieldRef, resourceFieldRef, secret and
// configMap keys, envFrom). A process cannot see a volume at its
// mountPath without a mount namespace per container; instead an env value
// that names a path under a volume mount names the file on the node (how
// echo-basic finds TLS_SERVER_CERT). A container is started once
// echo-basic listens on every port its environment gives it and the node
// connects to it at the Pod's address (a kubelet calls it started once the
// process runs, which would make a Pod without probes Ready before it
// serves); if that connection fails, the Node logs the pod network's
// state (the address's history, neighbour and forwarding entries, links,
// namespaces), and it connects again every few seconds to report a Pod it
// loses. Readiness is started and the container's HTTP or TCP readiness
// probe, else a connection to each TCP container port; an exited process
// is restarted with back-off per restartPolicy. The Pod's
// status says what a kubelet would (phase, PodScheduled, Initialized,
// ContainersReady, Ready, podIP(s), hostIP(s), container statuses with a
// start time). A deleted Pod gets SIGTERM, SIGKILL after its grace period,
// its namespace removed, then a delete with grace 0, as the kubelet
// finishes it. The kubelet port (TLS, on the Node's address, client
// certificates of the apiserver's kubelet client only) serves
// /containerLogs, so pods/log (kubectl logs) works through the apiserver,
// with sinceTime, sinceSeconds, tailLines, limitBytes, timestamps and
// follow. Not there: exec, attach, port-forward, hostNetwork, init and
// ephemeral containers, resource limits, image pulls, service links in
// the environment, kube-proxy (Service cluster IPs route nowhere; use the
// EndpointSlices, as the suite's implementations do). So the base
// manifests' coredns Deployment (for UDPRoute's DNS tests) runs echo-basic
// too, and mesh tests' echo-advanced image would as well: those tests
// cannot pass here.
//
// GatewayConformanceBaseManifests is the suite's conformance/base/
// manifests.yaml of the same release, which the build script copies too;
// TestConformanceCluster applies it (ReadManifests, Apply) and checks every
// Deployment in it becomes available and answers.
//
// The pod network is claimed machine-wide like nettest's networks (an
// abstract unix socket per number N, names icpN...), so concurrent test
// binaries never share one and whoever claims N deletes what a killed run
// left under it. Stop kills the Pods' processes, removes their namespaces,
// the bridge, then stops kube-controller-manager and the Cluster.
package kubetest
