package translate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"ingress-controller/internal/source/file"
	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden translates testdata/<case>/input.yaml and compares the config
// and the problems with the golden files beside it. An options.json beside
// them sets Options fields on top of GoldenOptions. Inputs are parsed as
// the file source parses manifests.
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
			cfg, problems := translate.Ingresses(snap, opts)
			translate.CheckResult(t, cfg, problems)
			gotConfig := renderConfig(t, cfg)
			gotProblems := renderProblems(problems)

			// Snapshot order must not matter.
			cfg2, problems2 := translate.Ingresses(reversed(t, snap), opts)
			if !bytes.Equal(renderConfig(t, cfg2), gotConfig) || renderProblems(problems2) != gotProblems {
				t.Error("reversing the order of the snapshot's objects changed the output")
			}

			compareGolden(t, filepath.Join(dir, "config.golden.json"), gotConfig)
			compareGolden(t, filepath.Join(dir, "problems.golden.txt"), []byte(gotProblems))
			if hasGatewayAPI(snap) {
				// Programmed as if the provider applied the whole config.
				gotStatus := renderStatus(t, translate.GatewayStatus(snap, opts, translate.Applied{Config: cfg}))
				if !bytes.Equal(renderStatus(t, translate.GatewayStatus(reversed(t, snap), opts, translate.Applied{Config: cfg2})), gotStatus) {
					t.Error("reversing the order of the snapshot's objects changed the Gateway API status")
				}
				compareGolden(t, filepath.Join(dir, "status.golden.yaml"), gotStatus)
			}
		})
	}
}

func caseOptions(t *testing.T, dir string) translate.Options {
	t.Helper()
	opts := translate.GoldenOptions
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

func readSnapshot(t *testing.T, path string) *translate.Snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := file.ParseManifest(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// The file source skips kinds it does not read; test data must not,
	// so that a typo cannot silently change what a case covers.
	n := 0
	for range snap.Objects() {
		n++
	}
	if docs := len(topLevelKind.FindAll(data, -1)); n != docs {
		t.Fatalf("%s: %d documents with a kind, %d objects of the kinds a snapshot holds", path, docs, n)
	}
	return snap
}

func hasGatewayAPI(snap *translate.Snapshot) bool {
	return len(snap.GatewayClasses)+len(snap.Gateways)+len(snap.HTTPRoutes)+len(snap.GRPCRoutes)+len(snap.TLSRoutes) > 0
}

// renderStatus writes the Gateway API status as YAML, maps by key.
func renderStatus(t *testing.T, st *translate.GatewayAPIStatus) []byte {
	t.Helper()
	data, err := yaml.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// topLevelKind finds a document's kind.
var topLevelKind = regexp.MustCompile(`(?m)^kind:`)

func renderConfig(t *testing.T, cfg *lbconfig.Config) []byte {
	t.Helper()
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

// renderProblems writes one problem a line, with its reason.
func renderProblems(problems []translate.Problem) string {
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
func reversed(t *testing.T, snap *translate.Snapshot) *translate.Snapshot {
	t.Helper()
	var objs []translate.Object
	for _, o := range snap.Objects() {
		objs = append(objs, o)
	}
	slices.Reverse(objs)
	r := &translate.Snapshot{}
	for _, o := range objs {
		if err := r.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return r
}
