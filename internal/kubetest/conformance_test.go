package kubetest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"ingress-controller/internal/kubetest"
)

// echoImage names an image that never runs: the Node runs echo-basic
// whatever a Pod's image says.
const echoImage = "registry.k8s.io/gateway-api/echo-basic:v1.6.3"

// TestConformanceCluster starts the conformance cluster and walks a
// Deployment of echo-basic through it: the real controller manager makes
// the ReplicaSet and Pods, the Node runs them in namespaces of their own,
// the real EndpointSlice controller publishes their addresses, each Pod
// answers as itself (over HTTP, and over HTTPS with a certificate from a
// Secret volume), pods/log returns its log, scaling to zero removes the
// Pods and their namespaces, and a deleted namespace is finalized.
func TestConformanceCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := kubetest.StartConformance(ctx, kubetest.Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("StartConformance: %v", err)
	}
	prefix := c.Node.Prefix
	t.Logf("started in %s", time.Since(began).Round(time.Millisecond))
	defer func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		checkNoLeftovers(t, prefix)
	}()
	client := c.Client

	checkGatewayCRDs(t, ctx, client)
	checkNode(t, ctx, c)

	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "conformance-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caPEM := createTLSSecret(t, ctx, client, ns.Name)
	deploy := echoDeployment(2)
	if _, err := client.AppsV1().Deployments(ns.Name).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services(ns.Name).Create(ctx, echoService(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	pods := waitReadyPods(t, ctx, client, ns.Name, 2)
	for _, pod := range pods {
		checkPod(t, ctx, client, c, pod)
	}
	waitEndpoints(t, ctx, client, ns.Name, podIPs(pods))
	for _, pod := range pods {
		checkEcho(t, ctx, pod, caPEM)
		checkLogs(t, ctx, client, pod)
	}

	checkKubeletPort(t, ctx, c, pods[0])
	checkLatePod(t, ctx, c, ns.Name)
	checkCrashingContainer(t, ctx, c, ns.Name)
	checkPortlessPod(t, ctx, c, ns.Name)

	// Up to 6 at once: every Pod its own address, all published.
	scaleTo(t, ctx, client, ns.Name, 6)
	pods = waitReadyPods(t, ctx, client, ns.Name, 6)
	ips := podIPs(pods)
	if len(slices.Compact(slices.Clone(ips))) != 6 {
		t.Errorf("pod IPs %v, want 6 distinct", ips)
	}
	waitEndpoints(t, ctx, client, ns.Name, ips)

	// Scale to zero: the ReplicaSet controller deletes the Pods
	// gracefully; the Node stops them, removes their namespaces and
	// finishes the deletion.
	scaleTo(t, ctx, client, ns.Name, 0)
	poll(t, ctx, "pods gone after scaling to 0", func() error {
		list, err := client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) > 0 || c.Node.Pods() > 0 {
			return fmt.Errorf("%d pod objects, %d running on the node", len(list.Items), c.Node.Pods())
		}
		return nil
	})
	if names := podNamespaces(t, prefix); len(names) > 0 {
		t.Errorf("network namespaces left after scaling to 0: %v", names)
	}
	waitEndpoints(t, ctx, client, ns.Name, nil)
	for _, pod := range pods {
		if err := httpGet(ctx, "http://"+net.JoinHostPort(pod.Status.PodIP, "3000")+"/", nil, nil); err == nil {
			t.Errorf("pod %s still answers at %s after scaling to 0", pod.Name, pod.Status.PodIP)
		}
	}

	// The namespace controller empties and finalizes a deleted namespace.
	if err := client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "namespace finalized", func() error {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("namespace %s still there", ns.Name)
	})
	t.Logf("whole walk in %s", time.Since(began).Round(time.Millisecond))

	checkBaseManifests(t, ctx, c)
	t.Logf("base manifests running after %s", time.Since(began).Round(time.Millisecond))
}

// checkBaseManifests applies the conformance suite's base manifests as
// released (its Gateways given a class name, the Secrets its Deployments
// mount created as the suite would) and checks that every Deployment
// becomes available and every HTTP echo Pod answers as itself.
func checkBaseManifests(t *testing.T, ctx context.Context, c *kubetest.Conformance) {
	t.Helper()
	objs, err := kubetest.ReadManifests(c.GatewayConformanceBaseManifests())
	if err != nil {
		t.Fatal(err)
	}
	var deployments []appsv1.Deployment
	for _, obj := range objs {
		switch obj.GetKind() {
		case "Gateway":
			if err := unstructured.SetNestedField(obj.Object, "kubetest-conformance", "spec", "gatewayClassName"); err != nil {
				t.Fatal(err)
			}
		case "Deployment":
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &d); err != nil {
				t.Fatal(err)
			}
			deployments = append(deployments, d)
		}
	}
	if len(deployments) == 0 {
		t.Fatal("the base manifests have no Deployment")
	}
	// Namespaces first, then the Secrets the Pods mount, then the rest.
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return cmpBool(b.GetKind() == "Namespace", a.GetKind() == "Namespace")
	})
	namespaces := slices.IndexFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() != "Namespace" })
	if err := c.Apply(ctx, objs[:namespaces]); err != nil {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for _, d := range deployments {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Secret == nil || created[d.Namespace+"/"+v.Secret.SecretName] {
				continue
			}
			created[d.Namespace+"/"+v.Secret.SecretName] = true
			createTLSSecretNamed(t, ctx, c.Client, d.Namespace, v.Secret.SecretName)
		}
	}
	if err := c.Apply(ctx, objs[namespaces:]); err != nil {
		t.Fatal(err)
	}
	for _, d := range deployments {
		poll(t, ctx, "deployment "+d.Namespace+"/"+d.Name+" available", func() error {
			got, err := c.Client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			want := ptr.Deref(got.Spec.Replicas, 1)
			if got.Status.AvailableReplicas != want || got.Status.UpdatedReplicas != want {
				return fmt.Errorf("%d of %d available", got.Status.AvailableReplicas, want)
			}
			return nil
		})
	}
	answered := 0
	for _, d := range deployments {
		if !httpEcho(d.Spec.Template.Spec.Containers[0]) {
			continue
		}
		pods, err := c.Client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
		if err != nil {
			t.Fatal(err)
		}
		for _, pod := range pods.Items {
			var echo struct {
				Pod       string `json:"pod"`
				Namespace string `json:"namespace"`
			}
			if err := httpGet(ctx, "http://"+net.JoinHostPort(pod.Status.PodIP, "3000")+"/", nil, &echo); err != nil {
				t.Errorf("deployment %s/%s: pod %s: %v", d.Namespace, d.Name, pod.Name, err)
				continue
			}
			if echo.Pod != pod.Name || echo.Namespace != pod.Namespace {
				t.Errorf("deployment %s/%s: pod %s/%s says it is %s/%s", d.Namespace, d.Name, pod.Namespace, pod.Name, echo.Namespace, echo.Pod)
			}
			answered++
		}
	}
	t.Logf("%d deployments of the base manifests available, %d HTTP echo pods answered", len(deployments), answered)
	if answered == 0 {
		t.Error("no HTTP echo pod in the base manifests answered")
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// httpEcho says whether the container is an echo-basic HTTP server told
// its Pod's name: not a gRPC, TCP or UDP echo, nor the coredns container
// (which the Node runs as echo-basic too, knowing no names).
func httpEcho(c corev1.Container) bool {
	has := func(name string) bool {
		return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
	}
	return has("POD_NAME") && !has("GRPC_ECHO_SERVER") && !has("TCP_ECHO_SERVER") && !has("UDP_ECHO_SERVER")
}

func checkGatewayCRDs(t *testing.T, ctx context.Context, client kubernetes.Interface) {
	t.Helper()
	list, err := client.Discovery().ServerResourcesForGroupVersion("gateway.networking.k8s.io/v1")
	if err != nil {
		t.Fatalf("discovery of gateway.networking.k8s.io/v1: %v", err)
	}
	var names []string
	for _, r := range list.APIResources {
		names = append(names, r.Name)
	}
	for _, want := range []string{"gatewayclasses", "gateways", "httproutes", "grpcroutes"} {
		if !slices.Contains(names, want) {
			t.Errorf("gateway.networking.k8s.io/v1 serves %v, want %s among them", names, want)
		}
	}
	if _, err := client.Discovery().ServerResourcesForGroupVersion("gateway.networking.k8s.io/v1beta1"); err != nil {
		t.Errorf("discovery of gateway.networking.k8s.io/v1beta1 (ReferenceGrant): %v", err)
	}
}

func checkNode(t *testing.T, ctx context.Context, c *kubetest.Conformance) {
	t.Helper()
	node, err := c.Client.CoreV1().Nodes().Get(ctx, c.Node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	ready := slices.ContainsFunc(node.Status.Conditions, func(cond corev1.NodeCondition) bool {
		return cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue
	})
	internal := slices.ContainsFunc(node.Status.Addresses, func(a corev1.NodeAddress) bool {
		return a.Type == corev1.NodeInternalIP && a.Address == c.Node.Addr.String()
	})
	if !ready || !internal {
		t.Errorf("node %s: conditions %+v, addresses %+v; want Ready and InternalIP %s", node.Name, node.Status.Conditions, node.Status.Addresses, c.Node.Addr)
	}
	if _, err := c.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, c.Node.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("node lease: %v", err)
	}
}

func echoDeployment(replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": "echo"}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](5),
					Containers: []corev1.Container{{
						Name:  "echo",
						Image: echoImage,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 3000}, {Name: "https", ContainerPort: 8443}},
						Env: []corev1.EnvVar{
							{Name: "POD_NAME", ValueFrom: field("metadata.name")},
							{Name: "NAMESPACE", ValueFrom: field("metadata.namespace")},
							{Name: "MY_POD_IP", ValueFrom: field("status.podIP")},
							{Name: "SERVICE_NAME", Value: "echo-$(MY_POD_IP)"},
							{Name: "TLS_SERVER_CERT", Value: "/etc/echo-tls/tls.crt"},
							{Name: "TLS_SERVER_PRIVKEY", Value: "/etc/echo-tls/tls.key"},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/echo-tls", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{
						Name:         "tls",
						VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "echo-tls"}},
					}},
				},
			},
		},
	}
}

func echoService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "echo"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}

// createTLSSecret makes the Secret echo-tls with a certificate for any
// address in 198.18.0.0/15 the test dials, and returns its CA.
func createTLSSecret(t *testing.T, ctx context.Context, client kubernetes.Interface, ns string) []byte {
	t.Helper()
	return createTLSSecretNamed(t, ctx, client, ns, "echo-tls")
}

// createTLSSecretNamed makes a kubernetes.io/tls Secret with a
// self-signed certificate for echo.example.test and returns it.
func createTLSSecretNamed(t *testing.T, ctx context.Context, client kubernetes.Interface, ns, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "echo"},
		DNSNames:              []string{"echo.example.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	_, err = client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       certPEM,
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return certPEM
}

func waitReadyPods(t *testing.T, ctx context.Context, client kubernetes.Interface, ns string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	poll(t, ctx, fmt.Sprintf("%d ready pods", n), func() error {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && podReady(&p) && p.DeletionTimestamp == nil {
				pods = append(pods, p)
			}
		}
		if len(pods) != n || len(list.Items) != n {
			return fmt.Errorf("%d pods, %d of them running and ready", len(list.Items), len(pods))
		}
		return nil
	})
	return pods
}

func podReady(p *corev1.Pod) bool {
	return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// checkPod checks what the controllers and the Node wrote: the Pod's
// owner chain up to the Deployment, its binding, addresses and status.
func checkPod(t *testing.T, ctx context.Context, client kubernetes.Interface, c *kubetest.Conformance, pod corev1.Pod) {
	t.Helper()
	owner := metav1.GetControllerOf(&pod)
	if owner == nil || owner.Kind != "ReplicaSet" {
		t.Fatalf("pod %s: controller %+v, want a ReplicaSet", pod.Name, owner)
	}
	rs, err := client.AppsV1().ReplicaSets(pod.Namespace).Get(ctx, owner.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pod %s: replicaset: %v", pod.Name, err)
	}
	if o := metav1.GetControllerOf(rs); o == nil || o.Kind != "Deployment" || o.Name != "echo" {
		t.Errorf("replicaset %s: controller %+v, want Deployment echo", rs.Name, o)
	}
	if pod.Spec.NodeName != c.Node.Name {
		t.Errorf("pod %s: nodeName %q, want %q", pod.Name, pod.Spec.NodeName, c.Node.Name)
	}
	ip, err := netip.ParseAddr(pod.Status.PodIP)
	if err != nil || !c.Node.Prefix.Contains(ip) || len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != pod.Status.PodIP {
		t.Errorf("pod %s: podIP %q podIPs %v, want one address in %s", pod.Name, pod.Status.PodIP, pod.Status.PodIPs, c.Node.Prefix)
	}
	if pod.Status.HostIP != c.Node.Addr.String() || pod.Status.StartTime == nil {
		t.Errorf("pod %s: hostIP %q startTime %v, want %s and a start time", pod.Name, pod.Status.HostIP, pod.Status.StartTime, c.Node.Addr)
	}
	for _, typ := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if !slices.ContainsFunc(pod.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == typ && c.Status == corev1.ConditionTrue }) {
			t.Errorf("pod %s: condition %s not True in %+v", pod.Name, typ, pod.Status.Conditions)
		}
	}
	if cs := pod.Status.ContainerStatuses; len(cs) != 1 || !cs[0].Ready || cs[0].State.Running == nil || cs[0].Image != echoImage {
		t.Errorf("pod %s: container statuses %+v, want echo running and ready", pod.Name, cs)
	}
}

func podIPs(pods []corev1.Pod) []string {
	var ips []string
	for _, p := range pods {
		ips = append(ips, p.Status.PodIP)
	}
	slices.Sort(ips)
	return ips
}

// waitEndpoints waits until the Service's EndpointSlices hold exactly the
// ready addresses want, on port 3000.
func waitEndpoints(t *testing.T, ctx context.Context, client kubernetes.Interface, ns string, want []string) {
	t.Helper()
	poll(t, ctx, fmt.Sprintf("endpoints %v", want), func() error {
		list, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=echo"})
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return fmt.Errorf("no EndpointSlice for service echo")
		}
		var got []string
		for _, es := range list.Items {
			if want != nil && (len(es.Ports) != 1 || ptr.Deref(es.Ports[0].Port, 0) != 3000) {
				return fmt.Errorf("EndpointSlice %s ports %+v, want 3000", es.Name, es.Ports)
			}
			for _, e := range es.Endpoints {
				if ptr.Deref(e.Conditions.Ready, false) {
					got = append(got, e.Addresses...)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("ready endpoint addresses %v", got)
		}
		return nil
	})
}

// checkEcho asks the Pod over HTTP and HTTPS who it is.
func checkEcho(t *testing.T, ctx context.Context, pod corev1.Pod, caPEM []byte) {
	t.Helper()
	var echo struct {
		Namespace string `json:"namespace"`
		Pod       string `json:"pod"`
		Service   string `json:"service"`
		Path      string `json:"path"`
	}
	url := "http://" + net.JoinHostPort(pod.Status.PodIP, "3000") + "/logcheck-" + pod.Name
	if err := httpGet(ctx, url, nil, &echo); err != nil {
		t.Fatalf("pod %s: %v", pod.Name, err)
	}
	if echo.Pod != pod.Name || echo.Namespace != pod.Namespace || echo.Service != "echo-"+pod.Status.PodIP {
		t.Errorf("pod %s: echo says %+v, want pod %s namespace %s service echo-%s", pod.Name, echo, pod.Name, pod.Namespace, pod.Status.PodIP)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	tlsConfig := &tls.Config{RootCAs: roots, ServerName: "echo.example.test"}
	echo.Pod = ""
	if err := httpGet(ctx, "https://"+net.JoinHostPort(pod.Status.PodIP, "8443")+"/", tlsConfig, &echo); err != nil {
		t.Fatalf("pod %s over TLS with the Secret's certificate: %v", pod.Name, err)
	}
	if echo.Pod != pod.Name {
		t.Errorf("pod %s over TLS: echo says pod %q", pod.Name, echo.Pod)
	}
}

func httpGet(ctx context.Context, url string, tlsConfig *tls.Config, into any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	if into == nil {
		return nil
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: %w: %s", url, err, body)
	}
	return nil
}

// checkLogs reads the Pod's log through the apiserver (pods/log, as
// kubectl logs does), which asks the Node's kubelet port.
func checkLogs(t *testing.T, ctx context.Context, client kubernetes.Interface, pod corev1.Pod) {
	t.Helper()
	want := "Echoing back request made to /logcheck-" + pod.Name
	var log string
	poll(t, ctx, "pod log of "+pod.Name, func() error {
		b, err := client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "echo"}).DoRaw(ctx)
		if err != nil {
			return err
		}
		log = string(b)
		if !strings.Contains(log, want) || !strings.Contains(log, "Starting server, listening on port 3000") {
			return fmt.Errorf("log lacks %q:\n%s", want, log)
		}
		return nil
	})
	// sinceTime after the request: the line is left out.
	future := metav1.NewTime(time.Now().Add(time.Hour))
	b, err := client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "echo", SinceTime: &future}).DoRaw(ctx)
	if err != nil || len(b) != 0 {
		t.Errorf("pod %s: log since an hour ahead = %q, %v; want nothing", pod.Name, b, err)
	}
	b, err = client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "echo", TailLines: ptr.To[int64](1)}).DoRaw(ctx)
	if err != nil || strings.Count(string(b), "\n") != 1 {
		t.Errorf("pod %s: last log line = %q, %v; want one line", pod.Name, b, err)
	}
	if _, err := client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "nosuch"}).DoRaw(ctx); err == nil {
		t.Errorf("pod %s: log of a container that does not exist: no error", pod.Name)
	}
	checkFollow(t, ctx, client, pod)
}

// checkFollow follows the log (kubectl logs -f) from the next second on
// (sinceTime has whole seconds) and sees lines of requests made
// afterwards arrive, and none of those made before.
func checkFollow(t *testing.T, ctx context.Context, client kubernetes.Interface, pod corev1.Pod) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	since := metav1.NewTime(time.Now().Truncate(time.Second).Add(time.Second))
	stream, err := client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "echo", Follow: true, SinceTime: &since}).Stream(ctx)
	if err != nil {
		t.Fatalf("pod %s: follow log: %v", pod.Name, err)
	}
	defer stream.Close()
	chunks := make(chan string)
	go func() {
		defer close(chunks)
		buf := make([]byte, 4096)
		for {
			n, err := stream.Read(buf)
			if n > 0 {
				select {
				case chunks <- string(buf[:n]):
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	var got strings.Builder
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := 0; !strings.Contains(got.String(), "request made to /followed-"); i++ {
		url := fmt.Sprintf("http://%s/followed-%d", net.JoinHostPort(pod.Status.PodIP, "3000"), i)
		if err := httpGet(ctx, url, nil, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case c, ok := <-chunks:
			if !ok {
				t.Fatalf("pod %s: followed log ended without a request line: %q", pod.Name, got.String())
			}
			got.WriteString(c)
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("pod %s: no request line in the followed log: %q", pod.Name, got.String())
		}
	}
	if strings.Contains(got.String(), "/logcheck-") || strings.Contains(got.String(), "Starting server") {
		t.Errorf("pod %s: log followed since %s has earlier lines: %q", pod.Name, since, got.String())
	}
}

// checkKubeletPort checks that the kubelet port serves logs to the
// apiserver's kubelet client only: not to a client without a certificate,
// nor to the cluster admin's certificate.
func checkKubeletPort(t *testing.T, ctx context.Context, c *kubetest.Conformance, pod corev1.Pod) {
	t.Helper()
	node, err := c.Client.CoreV1().Nodes().Get(ctx, c.Node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	url := fmt.Sprintf("https://%s/containerLogs/%s/%s/echo", net.JoinHostPort(c.Node.Addr.String(), fmt.Sprint(port)), pod.Namespace, pod.Name)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.Config.CAData)
	if err := httpGet(ctx, url, &tls.Config{RootCAs: roots}, nil); err == nil {
		t.Errorf("kubelet port served %s to a client without a certificate", url)
	}
	admin, err := tls.X509KeyPair(c.Config.CertData, c.Config.KeyData)
	if err != nil {
		t.Fatal(err)
	}
	err = httpGet(ctx, url, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{admin}}, nil)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("kubelet port to the admin certificate: %v, want 403 Forbidden", err)
	}
}

// checkLatePod checks a bare Pod whose Secret comes after it: Pending,
// saying which Secret it waits for, then running once it is there; and a
// graceful delete finished by the Node.
func checkLatePod(t *testing.T, ctx context.Context, c *kubetest.Conformance, ns string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "late"},
		Spec:       echoDeployment(1).Spec.Template.Spec,
	}
	pod.Spec.Volumes[0].Secret.SecretName = "late-tls"
	pods := c.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "pod late pending on its secret", func() error {
		p, err := pods.Get(ctx, "late", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodPending || !strings.Contains(p.Status.Message, "late-tls") {
			return fmt.Errorf("phase %s, message %q", p.Status.Phase, p.Status.Message)
		}
		return nil
	})
	secret, err := c.Client.CoreV1().Secrets(ns).Get(ctx, "echo-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.ObjectMeta = metav1.ObjectMeta{Name: "late-tls"}
	if _, err := c.Client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "pod late ready", func() error {
		p, err := pods.Get(ctx, "late", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning || !podReady(p) || p.Status.Message != "" {
			return fmt.Errorf("phase %s, message %q, conditions %+v", p.Status.Phase, p.Status.Message, p.Status.Conditions)
		}
		return nil
	})
	if err := pods.Delete(ctx, "late", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "pod late deleted", func() error {
		_, err := pods.Get(ctx, "late", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
}

func scaleTo(t *testing.T, ctx context.Context, client kubernetes.Interface, ns string, replicas int32) {
	t.Helper()
	scale, err := client.AppsV1().Deployments(ns).GetScale(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = replicas
	if _, err := client.AppsV1().Deployments(ns).UpdateScale(ctx, "echo", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkCrashingContainer runs a Pod whose two containers both bind port
// 3000: whichever loses the race panics, the Node restarts it with
// back-off, counts the restarts and keeps the Pod unready, and its log
// (the panic) is served.
func checkCrashingContainer(t *testing.T, ctx context.Context, c *kubetest.Conformance, ns string) {
	t.Helper()
	pods := c.Client.CoreV1().Pods(ns)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "crash"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{
				{Name: "first", Image: echoImage},
				{Name: "second", Image: echoImage},
			},
		},
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var crashed string
	poll(t, ctx, "a container of pod crash restarted", func() error {
		p, err := pods.Get(ctx, "crash", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount >= 1 && !cs.Ready && !podReady(p) {
				crashed = cs.Name
				return nil
			}
		}
		return fmt.Errorf("container statuses %+v", p.Status.ContainerStatuses)
	})
	b, err := pods.GetLogs("crash", &corev1.PodLogOptions{Container: crashed}).DoRaw(ctx)
	if err != nil || !strings.Contains(string(b), "address already in use") {
		t.Errorf("log of container %s: %q, %v; want the bind failure", crashed, b, err)
	}
	if err := pods.Delete(ctx, "crash", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "pod crash deleted", func() error {
		_, err := pods.Get(ctx, "crash", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
}

// checkPortlessPod runs a Pod like GatewayTLSBackendClientCertificate's
// backend, without ports or probes, whose Ready a kubelet writes once its
// container runs: the Node writes it once echo-basic serves, so the Pod
// answers on every port at the moment it is seen Ready.
func checkPortlessPod(t *testing.T, ctx context.Context, c *kubetest.Conformance, ns string) {
	t.Helper()
	pods := c.Client.CoreV1().Pods(ns)
	spec := echoDeployment(1).Spec.Template.Spec
	spec.Containers[0].Ports = nil
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "portless"}, Spec: spec}
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=portless"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ready *corev1.Pod
	for ready == nil {
		select {
		case <-ctx.Done():
			t.Fatal("pod portless never ready")
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch of pod portless ended")
			}
			if p, isPod := ev.Object.(*corev1.Pod); isPod && podReady(p) {
				ready = p
			}
		}
	}
	for _, port := range []string{"3000", "3001", "8443"} {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(ready.Status.PodIP, port), time.Second)
		if err != nil {
			t.Errorf("pod portless, Ready: port %s: %v", port, err)
			continue
		}
		conn.Close()
	}
	if cs := ready.Status.ContainerStatuses; len(cs) != 1 || !ptr.Deref(cs[0].Started, false) || cs[0].State.Running == nil {
		t.Errorf("pod portless, Ready: container statuses %+v, want one started and running", cs)
	}
	if err := pods.Delete(ctx, "portless", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
}

// podNamespaces lists the network namespaces of the pod network.
func podNamespaces(t *testing.T, prefix netip.Prefix) []string {
	t.Helper()
	entries, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	own := fmt.Sprintf("icp%d-", prefix.Addr().As4()[2]-128)
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), own) {
			names = append(names, e.Name())
		}
	}
	return names
}

// checkNoLeftovers checks that Stop left no namespace or link of the pod
// network behind.
func checkNoLeftovers(t *testing.T, prefix netip.Prefix) {
	t.Helper()
	if names := podNamespaces(t, prefix); len(names) > 0 {
		t.Errorf("network namespaces left after Stop: %v", names)
	}
	own := fmt.Sprintf("icp%d", prefix.Addr().As4()[2]-128)
	links, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if rest, ok := strings.CutPrefix(l.Name, own); ok && rest != "" && rest[0] >= 'a' && rest[0] <= 'z' {
			t.Errorf("link %s left after Stop", l.Name)
		}
	}
}

// poll calls check until it succeeds, failing the test at ctx's end.
func poll(t *testing.T, ctx context.Context, what string, check func() error) {
	t.Helper()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
