package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenOptions are the options of every golden case.
var goldenOptions = Options{
	ControllerName: DefaultControllerName,
	IngressClass:   DefaultIngressClass,
	HTTPPort:       80,
	HTTPSPort:      443,
}

// TestGolden translates testdata/<case>/input.yaml and compares the config
// and the problems with the golden files beside it. An options.json beside
// them sets Options fields on top of goldenOptions.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	for _, input := range inputs {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			snap := readSnapshot(t, input)
			opts := caseOptions(t, dir)
			cfg, problems := Ingresses(snap, opts)
			checkResult(t, cfg, problems)
			gotConfig := renderConfig(t, cfg)
			gotProblems := renderProblems(problems)

			// Snapshot order must not matter.
			cfg2, problems2 := Ingresses(reversed(snap), opts)
			if !bytes.Equal(renderConfig(t, cfg2), gotConfig) || renderProblems(problems2) != gotProblems {
				t.Error("reversing the order of the snapshot's objects changed the output")
			}

			compareGolden(t, filepath.Join(dir, "config.golden.json"), gotConfig)
			compareGolden(t, filepath.Join(dir, "problems.golden.txt"), []byte(gotProblems))
		})
	}
}

func caseOptions(t *testing.T, dir string) Options {
	t.Helper()
	opts := goldenOptions
	data, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&opts); err != nil {
		t.Fatalf("%s/options.json: %v", dir, err)
	}
	return opts
}

func readSnapshot(t *testing.T, path string) *Snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := parseManifests(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return snap
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
					if !slices.Contains(lb.Sources, r.Source) {
						t.Errorf("load balancer %q routes %s%s for %s, which is not among its sources", lb.Name, vh.Hostname, r.Path, r.Source)
					}
				}
			}
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

func renderConfig(t *testing.T, cfg *lbconfig.Config) []byte {
	t.Helper()
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
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

// renderProblems writes one problem a line, with its reason.
func renderProblems(problems []Problem) string {
	var b strings.Builder
	for _, p := range problems {
		b.WriteString(p.String() + " (" + p.Reason + ")\n")
	}
	return b.String()
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update and review the diff):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// reversed returns snap with every list in reverse order.
func reversed(snap *Snapshot) *Snapshot {
	r := &Snapshot{
		Ingresses:      slices.Clone(snap.Ingresses),
		IngressClasses: slices.Clone(snap.IngressClasses),
		Services:       slices.Clone(snap.Services),
		EndpointSlices: slices.Clone(snap.EndpointSlices),
		Secrets:        slices.Clone(snap.Secrets),
	}
	slices.Reverse(r.Ingresses)
	slices.Reverse(r.IngressClasses)
	slices.Reverse(r.Services)
	slices.Reverse(r.EndpointSlices)
	slices.Reverse(r.Secrets)
	return r
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
