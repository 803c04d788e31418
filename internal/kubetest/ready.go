package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bootstrapClusterRoles are created by the apiserver's RBAC post-start hook.
// /readyz waits for that hook, but checking the objects themselves is what
// tests of least-privilege roles rely on.
var bootstrapClusterRoles = []string{"cluster-admin", "admin", "edit", "view", "system:discovery"}

// apiserverReady is nil once /readyz is ok and the default namespace and the
// bootstrap RBAC roles exist.
func (c *Cluster) apiserverReady(ctx context.Context) error {
	body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("/readyz: %w: %s", err, body)
	}
	if _, err := c.Client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("namespace default: %w", err)
	}
	for _, name := range bootstrapClusterRoles {
		if _, err := c.Client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("clusterrole %s: %w", name, err)
		}
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Get(ctx, "cluster-admin", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("clusterrolebinding cluster-admin: %w", err)
	}
	return nil
}

// etcdHealthy is nil once etcd's /health says it is healthy.
func etcdHealthy(ctx context.Context, clientURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return err
	}
	var health struct {
		Health string `json:"health"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &health) != nil || health.Health != "true" {
		return fmt.Errorf("/health: %s: %s", resp.Status, body)
	}
	return nil
}
