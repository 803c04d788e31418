package translate

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// goldenOptions are the options of every golden case.
var goldenOptions = Options{
	ControllerName: DefaultControllerName,
	IngressClass:   DefaultIngressClass,
	HTTPPort:       80,
	HTTPSPort:      443,
}

// checkResult asserts what holds for every translation: the config is
// valid and sorted, and the problems are sorted, unique and complete.
func checkResult(t *testing.T, cfg *lbconfig.Config, problems []Problem) {
	t.Helper()
	if cfg == nil {
		t.Fatal("Ingresses returned a nil config")
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("config does not validate: %v", err)
	}
	sorted := renderConfigNoFail(cfg)
	resorted := cloneConfig(cfg)
	resorted.Sort()
	if !bytes.Equal(sorted, renderConfigNoFail(resorted)) {
		t.Error("config is not sorted")
	}
	// Each load balancer lists exactly the Ingresses it serves: every
	// route's source, and no Ingress on two load balancers.
	onLB := map[lbconfig.ObjectRef]string{}
	for _, lb := range cfg.LoadBalancers {
		for _, ref := range lb.Sources {
			if other, dup := onLB[ref]; dup && ref.Kind == "Ingress" {
				t.Errorf("%s is a source of load balancers %q and %q", ref, other, lb.Name)
			}
			onLB[ref] = lb.Name
		}
		for _, l := range lb.Listeners {
			for _, vh := range l.VirtualHosts {
				for _, r := range vh.Routes {
					// The paths of a refused Ingress answer 503 (addRefused).
					refused := strings.HasSuffix(r.Backend.Name, RefusedBackendSuffix)
					switch served := slices.Contains(lb.Sources, r.Source); {
					case !served && !refused:
						t.Errorf("load balancer %q routes %s%s for %s, which is not among its sources", lb.Name, vh.Hostname, r.Path, r.Source)
					case served && refused:
						t.Errorf("load balancer %q routes %s%s to %s for %s, which is among its sources", lb.Name, vh.Hostname, r.Path, r.Backend.Name, r.Source)
					}
					if refused && r.Backend.Name != r.Source.Namespace+"/"+r.Source.Name+RefusedBackendSuffix {
						t.Errorf("load balancer %q routes %s%s for %s to another's refused backend %s", lb.Name, vh.Hostname, r.Path, r.Source, r.Backend.Name)
					}
				}
			}
		}
	}
	for _, b := range cfg.Backends {
		if strings.HasSuffix(b.Name, RefusedBackendSuffix) && len(b.Endpoints) > 0 {
			t.Errorf("refused backend %s has endpoints", b.Name)
		}
	}
	for i, p := range problems {
		if p.Object.Kind == "" || p.Field == "" || p.Reason == "" || p.Message == "" {
			t.Errorf("incomplete problem %#v", p)
		}
		if i > 0 && compareProblems(problems[i-1], p) >= 0 {
			t.Errorf("problems not sorted and unique at %d: %v then %v", i, problems[i-1], p)
		}
	}
}

func renderConfigNoFail(cfg *lbconfig.Config) []byte {
	data, _ := json.Marshal(cfg)
	return data
}

// cloneConfig deep-copies cfg through JSON, which the model round-trips
// except for key material (never serialized), so compare renderings only.
func cloneConfig(cfg *lbconfig.Config) *lbconfig.Config {
	var c lbconfig.Config
	_ = json.Unmarshal(renderConfigNoFail(cfg), &c)
	return &c
}

// TestNilInputs checks that missing pieces never panic.
func TestNilInputs(t *testing.T) {
	cfg, problems := Ingresses(nil, Options{})
	checkResult(t, cfg, problems)
	if len(cfg.LoadBalancers) != 0 || len(problems) != 0 {
		t.Errorf("nil snapshot: got %+v, %v", cfg, problems)
	}
	snap := &Snapshot{
		Ingresses:      []*networkingv1.Ingress{nil},
		IngressClasses: []*networkingv1.IngressClass{nil},
		Services:       []*corev1.Service{nil},
		EndpointSlices: []*discoveryv1.EndpointSlice{nil},
		Secrets:        []*corev1.Secret{nil},
	}
	cfg, problems = Ingresses(snap, Options{})
	checkResult(t, cfg, problems)
	if len(cfg.LoadBalancers) != 0 || len(problems) != 0 {
		t.Errorf("nil objects: got %+v, %v", cfg, problems)
	}
}
