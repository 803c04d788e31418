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
// There is no controller manager, scheduler, kubelet or kube-proxy: nothing
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
package kubetest
