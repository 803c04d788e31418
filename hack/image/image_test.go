package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// testBinary builds a tiny static program for linux/GOARCH and returns its
// path. The build cache makes every call after the first a link only.
func testBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from the image\") }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the test binary: %v\n%s", err, out)
	}
	return bin
}

// noEnv is getenv for a clean environment, so SOURCE_DATE_EPOCH set by
// the caller of `go test` does not leak in.
func noEnv(string) string { return "" }

// runImage runs the command as the script does and returns its report.
func runImage(t *testing.T, getenv func(string) string, args ...string) map[string]string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(args, &stdout, &stderr, getenv); err != nil {
		t.Fatalf("image %q: %v\n%s", args, err, stderr.String())
	}
	report := map[string]string{}
	for line := range strings.Lines(stdout.String()) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("report line %q has no key", line)
		}
		report[k] = strings.TrimSpace(v)
	}
	for _, k := range []string{"image", "digest", "image id", "tarball"} {
		if report[k] == "" {
			t.Fatalf("report has no %q:\n%s", k, stdout.String())
		}
	}
	return report
}

// layerFiles reads the image's only layer into headers and contents by path.
func layerFiles(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("image has %d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	headers := map[string]*tar.Header{}
	contents := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("layer tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("layer tar %s: %v", hdr.Name, err)
		}
		headers[hdr.Name], contents[hdr.Name] = hdr, body
	}
	return headers, contents
}

func TestImageFromTarball(t *testing.T) {
	bin := testBinary(t)
	out := filepath.Join(t.TempDir(), "image.tar")
	report := runImage(t, noEnv, "--binary", bin, "--tag", "ingress-controller:v1.2.3", "--out", out,
		"--source-url", "https://example.com/ingress-controller")

	tag, err := name.NewTag("ingress-controller:v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("reading the tarball back: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := img.ConfigName(); id.String() != report["image id"] {
		t.Errorf("config digest in the tarball %s, reported %s", id, report["image id"])
	}

	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	if got, want := cfg.Config.Entrypoint, []string{"/ingress-controller"}; !slices.Equal(got, want) {
		t.Errorf("entrypoint %q, want %q", got, want)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", cfg.Config.User)
	}
	if cfg.Config.WorkingDir != "/" {
		t.Errorf("working dir %q, want /", cfg.Config.WorkingDir)
	}
	if len(cfg.Config.Env) != 0 || len(cfg.Config.Cmd) != 0 {
		t.Errorf("env %q and cmd %q, want none", cfg.Config.Env, cfg.Config.Cmd)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":   "ingress-controller",
		"org.opencontainers.image.version": "v1.2.3",
		"org.opencontainers.image.source":  "https://example.com/ingress-controller",
	}
	for k, want := range wantLabels {
		if got := cfg.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if !cfg.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("created %s, want the epoch", cfg.Created)
	}

	headers, contents := layerFiles(t, img)
	var names []string
	for n := range headers {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"etc/", "etc/group", "etc/passwd", "ingress-controller", "tmp/"}; !slices.Equal(names, want) {
		t.Errorf("layer holds %q, want %q", names, want)
	}

	binHdr := headers["ingress-controller"]
	if binHdr == nil {
		t.Fatal("layer has no ingress-controller")
	}
	if binHdr.Typeflag != tar.TypeReg || binHdr.Mode != 0o755 || binHdr.Uid != 65532 || binHdr.Gid != 65532 {
		t.Errorf("ingress-controller: type %c mode %o owner %d:%d, want regular 755 65532:65532",
			binHdr.Typeflag, binHdr.Mode, binHdr.Uid, binHdr.Gid)
	}
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(contents["ingress-controller"], want) {
		t.Errorf("ingress-controller in the layer (%d bytes) differs from the binary (%d bytes)",
			len(contents["ingress-controller"]), len(want))
	}

	passwd := string(contents["etc/passwd"])
	if !slices.Contains(strings.Split(passwd, "\n"), "nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin") {
		t.Errorf("/etc/passwd has no nonroot 65532:\n%s", passwd)
	}
	group := string(contents["etc/group"])
	if !slices.Contains(strings.Split(group, "\n"), "nonroot:x:65532:") {
		t.Errorf("/etc/group has no nonroot 65532:\n%s", group)
	}
	if h := headers["tmp/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o1777 {
		t.Errorf("tmp/: %+v, want a directory with mode 1777", h)
	}
	for n, h := range headers {
		if !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: mtime %s, want the epoch", n, h.ModTime)
		}
	}
}

func TestSameBinarySameDigest(t *testing.T) {
	bin := testBinary(t)
	dir := t.TempDir()
	build := func(getenv func(string) string, file string) (map[string]string, []byte) {
		out := filepath.Join(dir, file)
		report := runImage(t, getenv, "--binary", bin, "--tag", "ingress-controller:dev", "--out", out)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return report, data
	}

	first, firstTar := build(noEnv, "first.tar")
	second, secondTar := build(noEnv, "second.tar")
	if first["digest"] != second["digest"] || first["image id"] != second["image id"] {
		t.Errorf("two builds of one binary differ: %s (%s) and %s (%s)",
			first["digest"], first["image id"], second["digest"], second["image id"])
	}
	if !bytes.Equal(firstTar, secondTar) {
		t.Error("two builds of one binary wrote different tarballs")
	}

	// SOURCE_DATE_EPOCH is the one input besides the binary.
	epoch := func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000"
		}
		return ""
	}
	dated, _ := build(epoch, "dated.tar")
	if dated["digest"] == first["digest"] {
		t.Error("SOURCE_DATE_EPOCH did not change the digest")
	}
	tag, _ := name.NewTag("ingress-controller:dev")
	img, err := tarball.ImageFromPath(filepath.Join(dir, "dated.tar"), &tag)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1700000000, 0); !cfg.Created.Equal(want) {
		t.Errorf("created %s, want %s", cfg.Created.Time, want)
	}
	headers, _ := layerFiles(t, img)
	if got := headers["ingress-controller"].ModTime; !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("binary mtime %s, want SOURCE_DATE_EPOCH", got)
	}
}

func TestOCILayout(t *testing.T) {
	bin := testBinary(t)
	dir := t.TempDir()
	oci := filepath.Join(dir, "oci")
	args := []string{"--binary", bin, "--tag", "ingress-controller:dev", "--out", filepath.Join(dir, "image.tar"), "--oci-layout", oci}
	runImage(t, noEnv, args...)
	// A second run replaces the layout rather than adding to it.
	report := runImage(t, noEnv, args...)

	idx, err := layout.ImageIndexFromPath(oci)
	if err != nil {
		t.Fatalf("reading the layout back: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("layout index lists %d manifests, want 1", len(m.Manifests))
	}
	desc := m.Manifests[0]
	if desc.Digest.String() != report["digest"] {
		t.Errorf("layout holds %s, reported digest %s", desc.Digest, report["digest"])
	}
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != "dev" {
		t.Errorf("ref.name annotation %q, want dev", got)
	}
	if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != runtime.GOARCH {
		t.Errorf("platform %+v, want linux/%s", desc.Platform, runtime.GOARCH)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := img.ConfigName(); id.String() != report["image id"] {
		t.Errorf("layout config %s, reported image id %s", id, report["image id"])
	}

	// A directory that is not a layout is never replaced.
	other := filepath.Join(dir, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	args[len(args)-1] = other
	if err := run(args, io.Discard, io.Discard, noEnv); err == nil || !strings.Contains(err.Error(), "not an OCI layout") {
		t.Errorf("writing a layout over another directory: err %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(other, "keep")); err != nil {
		t.Errorf("the other directory lost its file: %v", err)
	}
}

func TestRejects(t *testing.T) {
	bin := testBinary(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	epoch := func(v string) func(string) string {
		return func(string) string { return v }
	}

	type rejectCase struct {
		name   string
		args   []string // --out is added unless noOut
		noOut  bool
		getenv func(string) string
		want   string
	}
	tests := []rejectCase{
		{name: "no binary", getenv: noEnv, want: "--binary is required"},
		{name: "no out", args: []string{"--binary", bin}, noOut: true, getenv: noEnv, want: "--out is required"},
		{name: "not ELF", args: []string{"--binary", text}, getenv: noEnv, want: "not an ELF executable"},
		{name: "missing binary", args: []string{"--binary", filepath.Join(dir, "nope")}, getenv: noEnv, want: "not an ELF executable"},
		{name: "other arch", args: []string{"--binary", bin, "--arch", other}, getenv: noEnv, want: "is " + runtime.GOARCH},
		{name: "tag without tag", args: []string{"--binary", bin, "--tag", "registry.example:5000/ingress-controller"}, getenv: noEnv, want: "want name:tag"},
		{name: "bad tag", args: []string{"--binary", bin, "--tag", "Ingress-Controller:dev"}, getenv: noEnv, want: "--tag"},
		{name: "bad epoch", args: []string{"--binary", bin}, getenv: epoch("yesterday"), want: "SOURCE_DATE_EPOCH"},
		{name: "negative epoch", args: []string{"--binary", bin}, getenv: epoch("-1"), want: "SOURCE_DATE_EPOCH"},
	}
	// A dynamically linked binary cannot run in scratch; the host's true(1)
	// is one on Debian.
	if dyn := "/bin/true"; hasInterpreter(dyn) {
		tests = append(tests, rejectCase{name: "dynamic", args: []string{"--binary", dyn}, getenv: noEnv, want: "dynamically linked"})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image.tar")
			args := tt.args
			if !tt.noOut {
				args = append(slices.Clone(args), "--out", out)
			}
			err := run(args, io.Discard, io.Discard, tt.getenv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one containing %q", err, tt.want)
			}
			entries, err := os.ReadDir(filepath.Dir(out))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) > 0 {
				t.Errorf("a failed build left %s behind", entries[0].Name())
			}
		})
	}
}

// hasInterpreter reports whether path is an ELF file that names a dynamic
// loader, read independently of inspectBinary.
func hasInterpreter(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Section(".interp") != nil
}
