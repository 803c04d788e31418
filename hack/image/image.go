package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image contains. The IDs match distroless "nonroot", so manifests
// written for distroless images (runAsUser: 65532) work unchanged.
const (
	binaryPath = "ingress-controller" // in the layer, i.e. /ingress-controller
	nonrootID  = 65532
	title      = "ingress-controller"

	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n"
	group = "root:x:0:\n" +
		"nonroot:x:65532:\n"
)

// imageSpec is everything the image is built from. The same spec and binary
// always give the same image digest.
type imageSpec struct {
	Binary    []byte
	Platform  v1.Platform // OS and Architecture (plus Variant for arm)
	Version   string      // org.opencontainers.image.version
	SourceURL string      // org.opencontainers.image.source; omitted when empty
	Created   time.Time   // config, history and file timestamps
}

// buildImage assembles a one-layer image from scratch: the binary, a passwd
// and group file naming the nonroot user, and a world-writable /tmp.
func buildImage(spec imageSpec) (v1.Image, error) {
	created := v1.Time{Time: spec.Created.UTC()}

	layer, err := rootfsLayer(spec.Binary, spec.Created)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}

	labels := map[string]string{
		"org.opencontainers.image.title":   title,
		"org.opencontainers.image.version": spec.Version,
	}
	if spec.SourceURL != "" {
		labels["org.opencontainers.image.source"] = spec.SourceURL
	}
	cfg := &v1.ConfigFile{
		Architecture: spec.Platform.Architecture,
		Variant:      spec.Platform.Variant,
		OS:           spec.Platform.OS,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: []string{"/" + binaryPath},
			User:       fmt.Sprintf("%d:%d", nonrootID, nonrootID),
			WorkingDir: "/",
			Labels:     labels,
		},
	}

	// OCI media types throughout: the OCI layout is then valid as written,
	// and docker/podman/containerd all accept them.
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "ingress-controller/hack/image",
			Comment:   "static binary, passwd, group, /tmp",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	return img, nil
}

// rootfsLayer writes the layer's tar in memory (the binary is tens of
// megabytes at most) with fixed owners, modes and times, so its bytes depend
// only on the binary and the timestamp.
func rootfsLayer(binary []byte, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []struct {
		hdr  tar.Header
		body []byte
	}{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "etc/group", Mode: 0o644}, body: []byte(group)},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644}, body: []byte(passwd)},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: binaryPath, Mode: 0o755, Uid: nonrootID, Gid: nonrootID}, body: binary},
		// Sticky and world-writable, like any /tmp; an emptyDir mounted
		// here is the usual choice with readOnlyRootFilesystem.
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}},
	}
	for _, e := range entries {
		hdr := e.hdr
		hdr.Size = int64(len(e.body))
		hdr.ModTime = mtime
		// The plainest format every runtime reads; anything it cannot
		// encode (a pre-1970 time) is an error, not a silent switch.
		hdr.Format = tar.FormatUSTAR
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", hdr.Name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("tar body %s: %w", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer),
		// compress/gzip output is a pure function of input and level.
		tarball.WithCompressionLevel(gzip.BestCompression),
		// Digest, tarball and layout each read the compressed blob; gzip once.
		tarball.WithCompressedCaching,
	)
}

// elfArch maps an ELF machine to GOARCH for the architectures Go supports
// on Linux.
func elfArch(f *elf.File) string {
	little := f.Data == elf.ELFDATA2LSB
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64"
	case elf.EM_386:
		return "386"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_PPC64:
		if little {
			return "ppc64le"
		}
		return "ppc64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_LOONGARCH:
		return "loong64"
	case elf.EM_MIPS:
		arch := "mips"
		if f.Class == elf.ELFCLASS64 {
			arch = "mips64"
		}
		if little {
			arch += "le"
		}
		return arch
	}
	return ""
}

// inspectBinary checks that the file is a Linux ELF executable that can run
// in an empty image (no dynamic loader) and returns its GOARCH, or "" when
// the machine is not one we know.
func inspectBinary(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("binary %s: not an ELF executable (the image is linux): %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			interp, _ := io.ReadAll(p.Open())
			return "", fmt.Errorf("binary %s: dynamically linked (interpreter %s), which cannot run in a scratch image; build with CGO_ENABLED=0",
				path, strings.TrimRight(string(interp), "\x00"))
		}
	}
	return elfArch(f), nil
}

// writeTarball writes a `docker save`-style tarball (loadable by docker load,
// podman load and ctr import) through a temporary file, so a failed build
// never leaves a truncated tarball behind.
func writeTarball(path string, tag name.Tag, img v1.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("tarball %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tarball.Write(tag, img, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("tarball %s: write %s: %w", path, tag, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("tarball %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tarball %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tarball %s: %w", path, err)
	}
	return nil
}

// writeLayout writes an OCI image layout directory holding just this image.
// It is built next to dir and swapped in, replacing an earlier layout; a
// directory that is neither empty nor an OCI layout is left alone.
func writeLayout(dir string, img v1.Image, platform v1.Platform, annotations map[string]string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return fmt.Errorf("oci layout %s: exists and is not an OCI layout; not replacing it", dir)
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}

	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithPlatform(platform), layout.WithAnnotations(annotations)); err != nil {
		return fmt.Errorf("oci layout %s: write image: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("oci layout %s: remove the old layout: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return nil
}
