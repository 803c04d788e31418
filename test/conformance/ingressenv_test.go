//go:build conformance

package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"ingress-controller/internal/selfsigned"
)

const (
	// echoPort is where echo-basic serves HTTP in every Pod.
	echoPort = 3000
	// servicePort is the port of every backend Service, as the Ingresses
	// name it.
	servicePort = 8080
	// converge bounds every wait for the cluster or the controller.
	converge = 2 * time.Minute
	// requestTimeout bounds one request, redirects included.
	requestTimeout = 10 * time.Second
	// maxRedirects is how many redirects a request follows, as the
	// upstream client does to reach HTTPS.
	maxRedirects = 5
)

// ingressEnv is one provider's run: the cluster's client and the address
// the controller listens on.
type ingressEnv struct {
	ctx    context.Context
	client kubernetes.Interface
	// address is the controller's listen address.
	address string
}

// newNamespace creates a namespace of a random name for a feature and
// deletes it when the feature ends.
func (e *ingressEnv) newNamespace(t *testing.T) string {
	t.Helper()
	ns, err := e.client.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "ingress-conformance-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		// The Pods' ends take a while; nothing waits for them.
		err := e.client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		if err != nil {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// backend is a Service an Ingress names and the port it names it by.
type backend struct {
	service  string
	portName string
}

// backends lists the Services ing sends to, each once, in order of
// appearance.
func backends(ing *networkingv1.Ingress) []backend {
	var out []backend
	add := func(b *networkingv1.IngressBackend) {
		if b == nil || b.Service == nil {
			return
		}
		be := backend{service: b.Service.Name, portName: b.Service.Port.Name}
		if !slices.ContainsFunc(out, func(o backend) bool { return o.service == be.service }) {
			out = append(out, be)
		}
	}
	add(ing.Spec.DefaultBackend)
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			add(&p.Backend)
		}
	}
	return out
}

// deployBackends creates a Deployment of one echo-basic Pod and a Service
// for every backend of ing, and waits until each Service has a ready
// endpoint, before the Ingress exists.
func (e *ingressEnv) deployBackends(t *testing.T, ing *networkingv1.Ingress) {
	t.Helper()
	bs := backends(ing)
	for _, b := range bs {
		d, svc := echoBackend(ing.Name, b)
		if _, err := e.client.AppsV1().Deployments(ing.Namespace).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Deployment %s/%s: %v", ing.Namespace, d.Name, err)
		}
		if _, err := e.client.CoreV1().Services(ing.Namespace).Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Service %s/%s: %v", ing.Namespace, svc.Name, err)
		}
	}
	for _, b := range bs {
		e.waitEndpoints(t, ing.Namespace, b.service, 1)
	}
}

// echoBackend is the Deployment and Service of backend b of the Ingress
// named ingress. echo-basic reports SERVICE_NAME as "service" in its
// answers, which tells which backend answered; the Deployment's name
// joins both, as several Ingresses may name one Service.
func echoBackend(ingress string, b backend) (*appsv1.Deployment, *corev1.Service) {
	name := ingress + "-" + b.service
	labels := map[string]string{"app": name}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	health := &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(echoPort)}},
		PeriodSeconds:    1,
		FailureThreshold: 10,
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](2),
					Containers: []corev1.Container{{
						Name:  "echo",
						Image: "registry.k8s.io/gateway-api/echo-basic:v1.6.3",
						Ports: []corev1.ContainerPort{{Name: b.portName, ContainerPort: echoPort}},
						Env: []corev1.EnvVar{
							{Name: "POD_NAME", ValueFrom: field("metadata.name")},
							{Name: "NAMESPACE", ValueFrom: field("metadata.namespace")},
							{Name: "INGRESS_NAME", Value: ingress},
							{Name: "SERVICE_NAME", Value: b.service},
						},
						ReadinessProbe: health,
					}},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: b.service},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports: []corev1.ServicePort{{
				Name:       b.portName,
				Port:       servicePort,
				TargetPort: intstr.FromInt32(echoPort),
			}},
		},
	}
	return d, svc
}

// waitEndpoints waits until the EndpointSlices of Service ns/name list
// exactly n ready endpoints.
func (e *ingressEnv) waitEndpoints(t *testing.T, ns, name string, n int) {
	t.Helper()
	poll(t, e.ctx, converge, fmt.Sprintf("%d ready endpoints of Service %s/%s", n, ns, name), func(ctx context.Context) error {
		slices, err := e.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=" + name,
		})
		if err != nil {
			return err
		}
		ready := 0
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ptr.Deref(ep.Conditions.Ready, true) {
					ready++
				}
			}
		}
		if ready != n {
			return fmt.Errorf("%d ready", ready)
		}
		return nil
	})
}

// scale sets the replicas of Deployment ns/name through its scale
// subresource, as kubectl scale does.
func (e *ingressEnv) scale(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	_, err := e.client.AppsV1().Deployments(ns).UpdateScale(e.ctx, name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
	}, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("scaling Deployment %s/%s to %d: %v", ns, name, replicas, err)
	}
}

// createIngress creates ing and, when the feature ends, deletes it and
// waits until it is gone, so that the next feature's Ingresses never meet
// it (two default backends, say).
func (e *ingressEnv) createIngress(t *testing.T, ing *networkingv1.Ingress) {
	t.Helper()
	ingresses := e.client.NetworkingV1().Ingresses(ing.Namespace)
	if _, err := ingresses.Create(e.ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Ingress %s/%s: %v", ing.Namespace, ing.Name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := ingresses.Delete(ctx, ing.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting Ingress %s/%s: %v", ing.Namespace, ing.Name, err)
			return
		}
		poll(t, ctx, converge, fmt.Sprintf("Ingress %s/%s gone", ing.Namespace, ing.Name), func(ctx context.Context) error {
			_, err := ingresses.Get(ctx, ing.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return errors.Join(err, errors.New("still there"))
		})
	})
}

// statusAddresses are the IPs and hostnames in the status of Ingress
// ns/name.
func (e *ingressEnv) statusAddresses(ctx context.Context, ns, name string) ([]string, error) {
	ing, err := e.client.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.IP != "" {
			addrs = append(addrs, lb.IP)
		}
		if lb.Hostname != "" {
			addrs = append(addrs, lb.Hostname)
		}
	}
	return addrs, nil
}

// waitAddress waits until the status of Ingress ns/name shows where it is
// exposed, and returns the first address, which the requests go to. It
// must be the controller's listen address.
func (e *ingressEnv) waitAddress(t *testing.T, ns, name string) string {
	t.Helper()
	var addrs []string
	poll(t, e.ctx, converge, fmt.Sprintf("an address in the status of Ingress %s/%s", ns, name), func(ctx context.Context) (err error) {
		addrs, err = e.statusAddresses(ctx, ns, name)
		if err == nil && len(addrs) == 0 {
			err = errors.New("none yet")
		}
		return err
	})
	if addrs[0] != e.address {
		t.Fatalf("Ingress %s/%s: status address %q, want the listen address %s", ns, name, addrs[0], e.address)
	}
	return addrs[0]
}

// echoed is what echo-basic says it received, in the JSON body of its
// answers.
type echoed struct {
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Method    string              `json:"method"`
	Proto     string              `json:"proto"`
	Headers   map[string][]string `json:"headers"`
	Namespace string              `json:"namespace"`
	Ingress   string              `json:"ingress"`
	Service   string              `json:"service"`
	Pod       string              `json:"pod"`
}

// exchange is what a request brought back.
type exchange struct {
	status int
	proto  string
	header http.Header
	// cert is the leaf certificate of the last HTTPS connection.
	cert *x509.Certificate
	// echo is zero unless the body was JSON.
	echo echoed
}

// request is a request as the scenarios write it: the URL's host goes in
// Host (and SNI), never to DNS.
type request struct {
	method, scheme, host, path string
}

func (r request) String() string {
	return fmt.Sprintf("%s %s://%s/%s", r.method, r.scheme, r.host, strings.TrimPrefix(r.path, "/"))
}

// send sends r over a new connection to address, port 80 or 443 by its
// scheme, with r.host as Host and server name (address when empty), and
// follows redirects the same way, to address again.
func send(ctx context.Context, address string, r request) (exchange, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	for range maxRedirects + 1 {
		x, location, err := sendOnce(ctx, address, r)
		if err != nil || location == nil {
			return x, err
		}
		r = request{method: r.method, scheme: location.Scheme, host: location.Hostname(), path: location.Path}
	}
	return exchange{}, fmt.Errorf("%s: more than %d redirects", r, maxRedirects)
}

// sendOnce sends r and returns the answer, or where it redirects to.
func sendOnce(ctx context.Context, address string, r request) (exchange, *url.URL, error) {
	port := "80"
	if r.scheme == "https" {
		port = "443"
	}
	host := r.host
	if host == "" {
		host = address
	}
	var x exchange
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(address, port))
		},
		DisableKeepAlives:  true,
		DisableCompression: true,
		TLSClientConfig: &tls.Config{
			// Verified by the scenario, against the Secret's certificate.
			InsecureSkipVerify: true, //nolint:gosec // see above
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) > 0 {
					x.cert = cs.PeerCertificates[0]
				}
				return nil
			},
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	u := &url.URL{Scheme: r.scheme, Host: host, Path: "/" + strings.TrimPrefix(r.path, "/")}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), nil)
	if err != nil {
		return x, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return x, nil, fmt.Errorf("%s: %w", r, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return x, nil, fmt.Errorf("%s: reading the body: %w", r, err)
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		location, err := resp.Location()
		if err != nil {
			return x, nil, fmt.Errorf("%s: %s: %w", r, resp.Status, err)
		}
		return x, location, nil
	}
	x.status, x.proto, x.header = resp.StatusCode, resp.Proto, resp.Header
	// Not every answer is echo-basic's.
	_ = json.Unmarshal(body, &x.echo)
	return x, nil, nil
}

// tlsSecret is a kubernetes.io/tls Secret named name with a self-signed
// certificate for host, and the certificate.
func tlsSecret(t *testing.T, name, host string) (*corev1.Secret, *x509.Certificate) {
	t.Helper()
	cert, err := selfsigned.New(host, 24*time.Hour, host)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       cert.ChainPEM,
			corev1.TLSPrivateKeyKey: cert.KeyPEM,
		},
	}, cert.Leaf
}

// poll calls check every 200ms until it succeeds, failing the test after
// timeout or at ctx's end; check's context ends then too.
func poll(t *testing.T, ctx context.Context, timeout time.Duration, what string, check func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check(ctx)
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
