package kubernetes

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Client-side rate limits: generous enough for status writes on thousands
// of Ingresses after a leader change, low enough not to hurt the API server.
const (
	DefaultQPS   = 50
	DefaultBurst = 100
)

// LoadConfig returns how to reach the API server: the kubeconfig file at
// path if set, else $KUBECONFIG, else ~/.kube/config, else the in-cluster
// service account. It sets userAgent and the default rate limits, and
// returns the namespace of the config's context (for in-cluster, the pod's
// namespace; "default" when none is set).
func LoadConfig(path, userAgent string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if path != "" {
			return nil, "", fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		return nil, "", fmt.Errorf("no kubeconfig found and not running in a cluster: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	cfg.UserAgent = userAgent
	cfg.QPS = DefaultQPS
	cfg.Burst = DefaultBurst
	return cfg, ns, nil
}

// ElectionNamespace is where the leader-election Lease lives when no
// namespace is given: $POD_NAMESPACE (set from the downward API in
// deploy/deployment.yaml), else contextNamespace from LoadConfig.
func ElectionNamespace(contextNamespace string) string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if contextNamespace != "" {
		return contextNamespace
	}
	return "default"
}

// NewIdentity returns a leader-election identity unique to this process:
// the hostname (the pod name in a cluster) and a random suffix, so that a
// restarted container never inherits the lease of its previous life.
func NewIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ingress-controller"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "_" + hex.EncodeToString(b[:])
}
