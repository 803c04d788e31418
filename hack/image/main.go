// Command image builds the ingress-controller container image without a
// Docker engine or a base image: FROM scratch, one layer holding the static
// binary at /ingress-controller (owned by the nonroot user 65532), an
// /etc/passwd and /etc/group naming that user, and an empty /tmp.
//
// The output is a `docker save`-style tarball for docker load, podman load
// or ctr import, and optionally an OCI image layout directory. Every
// timestamp is SOURCE_DATE_EPOCH (default 0, 1970-01-01), owners and modes
// are fixed and gzip is deterministic, so the same binary always gives the
// same digest.
//
// It lives in its own module so the product's go.mod does not carry
// go-containerregistry. hack/build-image.sh builds the binary and runs this.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// options are the parsed command line and environment.
type options struct {
	binary    string
	tag       name.Tag
	out       string
	ociLayout string
	arch      string // GOARCH, optionally with an arm variant: "arm/v7"
	sourceURL string
	created   time.Time
}

func parseOptions(args []string, stderr io.Writer, getenv func(string) string) (options, error) {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var tag string
	fs.StringVar(&o.binary, "binary", "", "statically linked linux binary to put at /ingress-controller (required)")
	fs.StringVar(&tag, "tag", "ingress-controller:dev", "image `name:tag` recorded in the tarball; the tag is also the version label")
	fs.StringVar(&o.out, "out", "", "tarball to write, loadable by docker/podman load and ctr import (required)")
	fs.StringVar(&o.ociLayout, "oci-layout", "", "also write an OCI image layout to this `dir` (replaces an earlier layout there)")
	fs.StringVar(&o.arch, "arch", "", "image architecture as GOARCH, e.g. amd64 or arm/v7 (default: read from the binary)")
	fs.StringVar(&o.sourceURL, "source-url", "", "org.opencontainers.image.source label (omitted when empty)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.binary == "" {
		return o, errors.New("--binary is required")
	}
	if o.out == "" {
		return o, errors.New("--out is required")
	}
	t, err := name.NewTag(tag)
	if err != nil {
		return o, fmt.Errorf("--tag %q: %w", tag, err)
	}
	// The tag doubles as the version label, so it must be spelled out.
	if !strings.HasSuffix(tag, ":"+t.TagStr()) {
		return o, fmt.Errorf("--tag %q: want name:tag", tag)
	}
	o.tag = t

	o.created = time.Unix(0, 0).UTC()
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < 0 {
			return o, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970 (a non-negative integer)", s)
		}
		o.created = time.Unix(sec, 0).UTC()
	}
	return o, nil
}

// platform resolves the image platform from --arch and the binary's ELF
// header; they must agree, since a mislabelled image fails only at run time.
func platform(flagArch, binaryArch, binary string) (v1.Platform, error) {
	p := v1.Platform{OS: "linux", Architecture: binaryArch}
	if flagArch == "" {
		if binaryArch == "" {
			return p, fmt.Errorf("binary %s: unknown ELF machine; pass --arch", binary)
		}
		return p, nil
	}
	arch, variant, _ := strings.Cut(flagArch, "/")
	if binaryArch != "" && arch != binaryArch {
		return p, fmt.Errorf("--arch %s: binary %s is %s", flagArch, binary, binaryArch)
	}
	p.Architecture, p.Variant = arch, variant
	return p, nil
}

// result names the image that was built.
type result struct {
	Digest   v1.Hash // manifest digest: the OCI layout and a registry push name the image by it
	ConfigID v1.Hash // config digest: the image ID docker and podman show after loading
	Platform v1.Platform
}

// build makes the image and writes the tarball (and the OCI layout, if
// asked for).
func build(o options) (result, error) {
	binaryArch, err := inspectBinary(o.binary)
	if err != nil {
		return result{}, err
	}
	plat, err := platform(o.arch, binaryArch, o.binary)
	if err != nil {
		return result{}, err
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return result{}, fmt.Errorf("binary: %w", err)
	}
	img, err := buildImage(imageSpec{
		Binary:    bin,
		Platform:  plat,
		Version:   o.tag.TagStr(),
		SourceURL: o.sourceURL,
		Created:   o.created,
	})
	if err != nil {
		return result{}, fmt.Errorf("image %s: %w", o.tag, err)
	}
	res := result{Platform: plat}
	if res.Digest, err = img.Digest(); err != nil {
		return result{}, fmt.Errorf("image %s: digest: %w", o.tag, err)
	}
	if res.ConfigID, err = img.ConfigName(); err != nil {
		return result{}, fmt.Errorf("image %s: config digest: %w", o.tag, err)
	}

	if err := writeTarball(o.out, o.tag, img); err != nil {
		return result{}, err
	}
	if o.ociLayout != "" {
		annotations := map[string]string{
			// skopeo and podman (oci:DIR:TAG) look for the tag here,
			// containerd (ctr import) for the full name.
			"org.opencontainers.image.ref.name": o.tag.TagStr(),
			"io.containerd.image.name":          o.tag.Name(),
		}
		if err := writeLayout(o.ociLayout, img, plat, annotations); err != nil {
			return result{}, err
		}
	}
	return res, nil
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	o, err := parseOptions(args, stderr, getenv)
	if err != nil {
		return err
	}
	res, err := build(o)
	if err != nil {
		return err
	}
	out, _ := filepath.Abs(o.out)
	fmt.Fprintf(stdout, "image:    %s (%s)\n", o.tag, res.Platform.String())
	fmt.Fprintf(stdout, "digest:   %s\n", res.Digest)
	fmt.Fprintf(stdout, "image id: %s\n", res.ConfigID)
	fmt.Fprintf(stdout, "tarball:  %s\n", out)
	if o.ociLayout != "" {
		dir, _ := filepath.Abs(o.ociLayout)
		fmt.Fprintf(stdout, "oci:      %s\n", dir)
	}
	return nil
}
