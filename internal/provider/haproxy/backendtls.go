package haproxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"

	"ingress-controller/pkg/lbconfig"
)

// backendTLSFile is where the CA bundle (kind "ca") or the client
// certificate and key (kind "client") of a backend go: a safe name of the
// backend's, which no certificate file (certFile) can take.
func backendTLSFile(backend, kind string) string {
	return certsDir + "/" + safeName("be-", backend) + "." + kind + ".pem"
}

// currentDir prefixes the file names that HAProxy 2.6 reads relative to
// its working directory rather than to haproxy.cfg ("default-path config"
// does not reach a server's crt). Its working directory is the runtime
// directory, where "current" links to the generation in service; and each
// generation links "current" to itself, where "haproxy -c" runs
// (writeFiles, validateConfig): both ways the name is the generation's
// own file.
const currentDir = currentLink + "/"

// serverTLS writes the files of b's TLS and returns the server options of
// an HTTPS or GRPCS backend. Without Verify, "verify none": the
// certificate is not checked. With it, "verify required" against the
// CA bundle, for the server name: HAProxy checks the name sent as SNI,
// and verifyhost's without SNI. GRPCS offers only h2 by ALPN and
// speaks it.
func (r *renderer) serverTLS(b *lbconfig.Backend) (string, error) {
	opts := " ssl"
	x := b.TLS
	if x == nil {
		x = &lbconfig.BackendTLS{}
	}
	if x.Verify {
		if _, err := lbconfig.CAPool(x.CAPEM); err != nil {
			return "", fmt.Errorf("tls.caPEM: %w", err)
		}
		host, err := verifyHost(x)
		if err != nil {
			return "", err
		}
		ca := backendTLSFile(b.Name, "ca")
		r.files[ca] = slices.Concat(x.CAPEM, []byte("\n"))
		opts += " verify required ca-file " + ca + " verifyhost " + host
	} else {
		opts += " verify none"
	}
	if x.SNI {
		if err := lbconfig.CheckServerName(x.ServerName); err != nil {
			return "", fmt.Errorf("tls.serverName: %w", err)
		}
		// Checked to hold only a-z, 0-9, '.' and '-': a literal of the
		// sample expression as it is.
		opts += " sni str(" + x.ServerName + ")"
	}
	if len(x.ClientCertificatePEM) > 0 {
		if _, err := tls.X509KeyPair(x.ClientCertificatePEM, x.ClientKeyPEM); err != nil {
			return "", fmt.Errorf("tls.clientCertificatePEM: %w", err)
		}
		crt := backendTLSFile(b.Name, "client")
		r.files[crt] = slices.Concat(x.ClientCertificatePEM, []byte("\n"), x.ClientKeyPEM, []byte("\n"))
		opts += " crt " + currentDir + crt
	}
	if x.MinVersion != "" {
		opts += " ssl-min-ver " + sslVersion(x.MinVersion)
	}
	if x.MaxVersion != "" {
		opts += " ssl-max-ver " + sslVersion(x.MaxVersion)
	}
	if b.Protocol == lbconfig.BackendGRPCS {
		opts += " alpn h2 proto h2"
	}
	return opts, nil
}

// verifyHost is the one name verifyhost checks: the server name, or the
// one DNS subject alternative name asked for. HAProxy 2.6 checks a single
// host name, no URI, and with SNI the name sent, so other
// SubjectAltNames are refused rather than checked less than asked.
func verifyHost(x *lbconfig.BackendTLS) (string, error) {
	switch {
	case len(x.SubjectAltNames) == 0:
		if err := lbconfig.CheckServerName(x.ServerName); err != nil {
			return "", fmt.Errorf("tls.serverName: %w", err)
		}
		return x.ServerName, nil
	case len(x.SubjectAltNames) > 1:
		return "", errors.New("tls.subjectAltNames: HAProxy 2.6 checks one name, not a list of subject alternative names")
	case x.SubjectAltNames[0].DNS == "":
		return "", errors.New("tls.subjectAltNames[0]: HAProxy 2.6 cannot check a URI subject alternative name")
	}
	san := x.SubjectAltNames[0].DNS
	if err := lbconfig.CheckServerName(san); err != nil {
		return "", fmt.Errorf("tls.subjectAltNames[0]: %w", err)
	}
	if x.SNI && san != x.ServerName {
		return "", fmt.Errorf("tls.subjectAltNames[0]: HAProxy 2.6 checks the certificate for the name sent as SNI, %q, not for %q", x.ServerName, san)
	}
	return san, nil
}

// sslVersion is v as HAProxy's ssl-min-ver and ssl-max-ver write it.
func sslVersion(v lbconfig.TLSVersion) string {
	if v == lbconfig.TLS13 {
		return "TLSv1.3"
	}
	return "TLSv1.2"
}
