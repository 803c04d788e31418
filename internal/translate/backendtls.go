package translate

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Backend TLS annotations on an Ingress whose backend-protocol is HTTPS or
// GRPCS: how its backends are spoken to (lbconfig.BackendTLS). They give
// the Ingress backends of its own, as any policy does.
//
// Verification is a protection and a client certificate is what the
// backend asks to let the load balancer in, so nothing here is served
// without what was asked: an annotation that does not read, a Secret that
// is missing, of another namespace or without what is asked of it keeps
// the whole Ingress from being served (addRefused holds its paths at
// 503), as ingress-nginx denies the location.
const (
	// AnnotationBackendTLSSecret names a Secret of the Ingress's
	// namespace, "<name>" or "<namespace>/<name>", of type
	// kubernetes.io/tls or Opaque: its ca.crt verifies the backends,
	// its tls.crt and tls.key are the client certificate sent to them.
	AnnotationBackendTLSSecret = AnnotationPrefix + "backend-tls-secret"
	// AnnotationBackendTLSVerify, "true", checks the backends'
	// certificates against the Secret's ca.crt and the name; "false"
	// (the default) does not.
	AnnotationBackendTLSVerify = AnnotationPrefix + "backend-tls-verify"
	// AnnotationBackendTLSName is the name checked and sent as SNI;
	// "<service>.<namespace>.svc" without it.
	AnnotationBackendTLSName = AnnotationPrefix + "backend-tls-name"
	// AnnotationBackendTLSSNI, "true", sends the name as SNI; "false" (the
	// default) sends none.
	AnnotationBackendTLSSNI = AnnotationPrefix + "backend-tls-sni"
	// AnnotationBackendTLSMinVersion and AnnotationBackendTLSMaxVersion
	// bound the TLS versions offered: TLSv1.2 (the default minimum) or
	// TLSv1.3 (the default maximum).
	AnnotationBackendTLSMinVersion = AnnotationPrefix + "backend-tls-min-version"
	AnnotationBackendTLSMaxVersion = AnnotationPrefix + "backend-tls-max-version"
)

// BackendTLSCAKey is the key of a Secret's CA bundle, as in ingress-nginx
// and cert-manager.
const BackendTLSCAKey = "ca.crt"

// backendTLSAnnotations are ours, in the order they are checked.
var backendTLSAnnotations = []string{
	AnnotationBackendTLSSecret, AnnotationBackendTLSVerify, AnnotationBackendTLSName,
	AnnotationBackendTLSSNI, AnnotationBackendTLSMinVersion, AnnotationBackendTLSMaxVersion,
}

// backendTLSOf reads the backend TLS of ing against the Secrets by
// "<namespace>/<name>": nil without it, or the field at fault and why. The
// server name is left empty where the Service's name is meant
// (withServiceName). The error never quotes key material.
func backendTLSOf(ing *networkingv1.Ingress, secrets map[string]*corev1.Secret) (*lbconfig.BackendTLS, string, error) {
	a := ing.Annotations
	set := ""
	for _, key := range backendTLSAnnotations {
		if _, ok := a[key]; ok {
			set = key
			break
		}
	}
	if set == "" {
		return nil, "", nil
	}
	switch proto := strings.ToUpper(strings.TrimSpace(a[AnnotationBackendProtocol])); proto {
	case string(lbconfig.BackendHTTPS), string(lbconfig.BackendGRPCS):
	default:
		return nil, annotationField(set), fmt.Errorf("backend TLS needs %s: HTTPS or GRPCS; the backends are spoken to in the clear", AnnotationBackendProtocol)
	}
	x := &lbconfig.BackendTLS{}
	for _, b := range []struct {
		key string
		to  *bool
	}{{AnnotationBackendTLSVerify, &x.Verify}, {AnnotationBackendTLSSNI, &x.SNI}} {
		if v, ok := a[b.key]; ok {
			on, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return nil, annotationField(b.key), fmt.Errorf("%q is not true or false", clip.Value(v))
			}
			*b.to = on
		}
	}
	if v, ok := a[AnnotationBackendTLSName]; ok {
		name := strings.TrimSpace(v)
		if err := lbconfig.CheckServerName(name); err != nil {
			return nil, annotationField(AnnotationBackendTLSName), err
		}
		x.ServerName = name
	}
	for _, b := range []struct {
		key string
		to  *lbconfig.TLSVersion
	}{{AnnotationBackendTLSMinVersion, &x.MinVersion}, {AnnotationBackendTLSMaxVersion, &x.MaxVersion}} {
		if v, ok := a[b.key]; ok {
			switch ver := lbconfig.TLSVersion(strings.TrimSpace(v)); ver {
			case lbconfig.TLS12, lbconfig.TLS13:
				*b.to = ver
			default:
				return nil, annotationField(b.key), fmt.Errorf("%q is not %s or %s", clip.Value(v), lbconfig.TLS12, lbconfig.TLS13)
			}
		}
	}
	if x.MinVersion.Std(tls.VersionTLS12) > x.MaxVersion.Std(tls.VersionTLS13) {
		return nil, annotationField(AnnotationBackendTLSMaxVersion), fmt.Errorf("%s is older than %s %s", x.MaxVersion, AnnotationBackendTLSMinVersion, x.MinVersion)
	}
	if err := readBackendTLSSecret(ing, secrets, x); err != nil {
		return nil, annotationField(AnnotationBackendTLSSecret), err
	}
	if x.Verify && len(x.CAPEM) == 0 {
		return nil, annotationField(AnnotationBackendTLSVerify), fmt.Errorf("verification needs %s, a Secret with the CA in %q", AnnotationBackendTLSSecret, BackendTLSCAKey)
	}
	return x, "", nil
}

// readBackendTLSSecret reads the Secret of AnnotationBackendTLSSecret, if
// set, into x: the CA bundle when x verifies, the client certificate when
// the Secret has one.
func readBackendTLSSecret(ing *networkingv1.Ingress, secrets map[string]*corev1.Secret, x *lbconfig.BackendTLS) error {
	v, ok := ing.Annotations[AnnotationBackendTLSSecret]
	if !ok {
		return nil
	}
	name, err := secretNameIn(ing, v)
	if err != nil {
		return err
	}
	sec := secrets[ing.Namespace+"/"+name]
	if sec == nil {
		return fmt.Errorf("Secret %q not found in namespace %q (backend TLS reads Secrets of type kubernetes.io/tls and Opaque)", name, ing.Namespace)
	}
	ca, hasCA := secretValue(sec, BackendTLSCAKey)
	crt, hasCrt := secretValue(sec, corev1.TLSCertKey)
	key, hasKey := secretValue(sec, corev1.TLSPrivateKeyKey)
	switch {
	case hasCrt != hasKey:
		return fmt.Errorf("Secret %q has only one of %q and %q: a client certificate needs both", name, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	case !hasCA && !hasCrt:
		return fmt.Errorf("Secret %q has neither %q nor %q and %q", name, BackendTLSCAKey, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	case x.Verify && !hasCA:
		return fmt.Errorf("Secret %q has no %q, the CA that verification needs", name, BackendTLSCAKey)
	}
	if x.Verify {
		if _, err := lbconfig.CAPool(ca); err != nil {
			return fmt.Errorf("Secret %q: %q: %w", name, BackendTLSCAKey, err)
		}
		x.CAPEM = ca
	}
	if hasCrt {
		if err := lbconfig.CheckClientCertificate(crt, key); err != nil {
			return fmt.Errorf("Secret %q: %q and %q are not a certificate and its key (%v)", name, corev1.TLSCertKey, corev1.TLSPrivateKeyKey, err)
		}
		x.ClientCertificatePEM, x.ClientKeyPEM = crt, key
	}
	return nil
}

// secretNameIn reads "<name>" or "<namespace>/<name>" of ing's own
// namespace: reading another would let whoever writes an Ingress use (and
// probe) another namespace's Secrets, which ingress-nginx too refuses
// unless allow-cross-namespace-resources is on.
func secretNameIn(ing *networkingv1.Ingress, v string) (string, error) {
	v = strings.TrimSpace(v)
	ns, name, qualified := strings.Cut(v, "/")
	if !qualified {
		ns, name = ing.Namespace, v
	}
	switch {
	case !isDNSSubdomain(name) || (qualified && !isDNSSubdomain(ns)):
		return "", fmt.Errorf("%q is not a Secret name or <namespace>/<name>", clip.Value(v))
	case ns != ing.Namespace:
		return "", fmt.Errorf("Secret %q is in namespace %q: only Secrets of the Ingress's own namespace %q are read", clip.Value(v), ns, ing.Namespace)
	}
	return name, nil
}

// readBackendTLS reports whether the backend TLS of ing reads; if not,
// the problem says the Ingress is not served. nginx are the annotations
// of an Ingress of the nginx class as written, nil for ours: where ing's
// come from ingress-nginx's (readNginx), the problem names the nginx
// annotation they came from.
func readBackendTLS(ing *networkingv1.Ingress, nginx map[string]string, secrets map[string]*corev1.Secret, ps *problems) bool {
	_, field, err := backendTLSOf(ing, secrets)
	if err == nil {
		return true
	}
	if nginx != nil {
		for ours, theirs := range nginxBackendTLS {
			if _, set := nginx[ours]; !set && field == annotationField(ours) {
				field = nginxField(theirs)
			}
		}
	}
	ps.add(ingressRef(ing), field, "InvalidBackendTLS",
		"%v; backend TLS that cannot be honoured must not be served without, so this Ingress is not served", err)
	return false
}

// withBackendTLS gives the backends of ing, whose backend TLS
// ourIngresses checked, that TLS: its policy becomes its own.
func (b *builder) withBackendTLS(ing *networkingv1.Ingress, ref lbconfig.ObjectRef) {
	x, _, err := backendTLSOf(ing, b.index.secrets)
	if err != nil || x == nil {
		return
	}
	p := b.policies[ref]
	p.tls, p.custom = x, true
	b.policies[ref] = p
}

// withMainBackendTLS gives the backends of canary the backend protocol and
// TLS of main, the Ingress whose route it joins, when main has backend
// TLS: in ingress-nginx the canary's requests go out under the main
// Ingress's proxy-ssl-* settings, and a verifying route must not send a
// share of its requests unverified.
func (b *builder) withMainBackendTLS(canary, main lbconfig.ObjectRef) {
	mp, ok := b.policies[main]
	if !ok || mp.tls == nil {
		return
	}
	p := b.policies[canary]
	p.protocol, p.tls, p.custom = mp.protocol, mp.tls, true
	b.policies[canary] = p
}

// withServiceName returns x for a backend of Service svc in namespace ns:
// a copy whose server name, when it needs one and the Ingress named none,
// is the Service's DNS name, which in-cluster certificates are issued for.
func withServiceName(x *lbconfig.BackendTLS, ns, svc string) *lbconfig.BackendTLS {
	if x == nil {
		return nil
	}
	c := *x
	if c.ServerName == "" && (c.Verify || c.SNI) {
		c.ServerName = svc + "." + ns + ".svc"
	}
	return &c
}

// nginxBackendTLS are the ingress-nginx annotations (without the prefix)
// ours come from.
var nginxBackendTLS = map[string]string{
	AnnotationBackendTLSSecret:     "proxy-ssl-secret",
	AnnotationBackendTLSVerify:     "proxy-ssl-verify",
	AnnotationBackendTLSName:       "proxy-ssl-name",
	AnnotationBackendTLSSNI:        "proxy-ssl-server-name",
	AnnotationBackendTLSMinVersion: "proxy-ssl-protocols",
	AnnotationBackendTLSMaxVersion: "proxy-ssl-protocols",
}

// nginxProxySSL are the proxy-ssl-* annotations, in the order they are
// read. ingress-nginx reads none of them without proxy-ssl-secret.
var nginxProxySSL = []string{
	"proxy-ssl-secret", "proxy-ssl-verify", "proxy-ssl-name", "proxy-ssl-server-name",
	"proxy-ssl-protocols", "proxy-ssl-ciphers", "proxy-ssl-verify-depth",
}

// refusesProxySSLVerify is refuses for proxy-ssl-verify: "on" and "off"
// are read by readProxySSL; verification asked for without the Secret
// that holds its CA, or a value that is neither, cannot be honoured.
// (ingress-nginx verifies nothing then, silently.)
func (r *nginxReader) refusesProxySSLVerify(name, v string) bool {
	switch _, secret := r.in[NginxAnnotationPrefix+"proxy-ssl-secret"]; {
	case v == "off":
		return false
	case v != "on":
		r.refuse(name, "%q is not on or off, so whether the backend's certificate must be verified is unclear (ingress-nginx would not verify it)", clip.Value(v))
	case !secret:
		r.refuse(name, "verification needs proxy-ssl-secret, the Secret with the CA (ca.crt); without it ingress-nginx would not verify the backend's certificate")
	default:
		return false
	}
	return true
}

// readProxySSL reads the proxy-ssl-* annotations into ours, as
// ingress-nginx reads them: only with proxy-ssl-secret, and only for
// backends spoken to over TLS (backend-protocol HTTPS or GRPCS, read by
// readBackendProtocol first). The checks are ours (readBackendTLS); a
// verification that cannot be honoured refuses the Ingress there.
func (r *nginxReader) readProxySSL() {
	const secret, verify, name, serverName, protocols, ciphers, depth = "proxy-ssl-secret", "proxy-ssl-verify", "proxy-ssl-name",
		"proxy-ssl-server-name", "proxy-ssl-protocols", "proxy-ssl-ciphers", "proxy-ssl-verify-depth"
	_, hasSecret := r.in[NginxAnnotationPrefix+secret]
	proto := strings.ToUpper(strings.TrimSpace(r.out[AnnotationBackendProtocol]))
	tlsBackend := proto == string(lbconfig.BackendHTTPS) || proto == string(lbconfig.BackendGRPCS)
	verifyOn := strings.TrimSpace(r.in[NginxAnnotationPrefix+verify]) == "on"
	if !hasSecret || (!tlsBackend && !verifyOn) {
		for _, n := range nginxProxySSL {
			if _, ok := r.get(n); !ok || n == verify { // "off" is honoured; "on" was refused
				continue
			}
			if !hasSecret {
				r.unsupported(n, "ingress-nginx reads the proxy-ssl-* annotations only with proxy-ssl-secret; ignored, as there")
			} else {
				r.unsupported(n, "the backends are spoken to in the clear (backend-protocol is not HTTPS or GRPCS), so there is no TLS to set; ignored, as by ingress-nginx")
			}
		}
		return
	}
	if v, _ := r.get(secret); r.free(secret, AnnotationBackendTLSSecret) {
		r.out[AnnotationBackendTLSSecret] = v
	}
	if v, ok := r.get(verify); ok && r.free(verify, AnnotationBackendTLSVerify) {
		r.out[AnnotationBackendTLSVerify] = strconv.FormatBool(v == "on")
	}
	if v, ok := r.get(name); ok && r.free(name, AnnotationBackendTLSName) {
		if err := lbconfig.CheckServerName(v); err != nil {
			r.invalid(name, "%v; the Service's name <service>.<namespace>.svc is used", err)
		} else {
			r.out[AnnotationBackendTLSName] = v
		}
	}
	if v, ok := r.get(serverName); ok && r.free(serverName, AnnotationBackendTLSSNI) {
		switch v {
		case "on", "off":
			r.out[AnnotationBackendTLSSNI] = strconv.FormatBool(v == "on")
		default:
			r.invalid(serverName, "%q is not on or off; no server name is sent (off)", clip.Value(v))
		}
	}
	if v, ok := r.get(protocols); ok {
		r.readProxySSLProtocols(protocols, v)
	}
	if v, ok := r.get(ciphers); ok && v != "DEFAULT" {
		r.unsupported(ciphers, "cipher lists are not set per backend here; the provider's TLS library's choice holds")
	}
	if _, ok := r.get(depth); ok {
		r.unsupported(depth, "the depth of the backend's chain is not limited here: any chain up to a CA of ca.crt is accepted")
	}
}

// readProxySSLProtocols reads proxy-ssl-protocols, a list of SSLv2, SSLv3,
// TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3, into our version bounds: only
// TLSv1.2 and TLSv1.3 are offered here.
func (r *nginxReader) readProxySSLProtocols(name, v string) {
	known := []string{"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	var has12, has13 bool
	var older []string
	for _, p := range strings.Fields(v) {
		switch {
		case !slices.Contains(known, p):
			r.invalid(name, "%q is not a list of SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3; TLSv1.2 and TLSv1.3 are offered", clip.Value(v))
			return
		case p == "TLSv1.2":
			has12 = true
		case p == "TLSv1.3":
			has13 = true
		default:
			older = append(older, p)
		}
	}
	switch {
	case !has12 && !has13:
		r.unsupported(name, "versions older than TLSv1.2 are not offered here; TLSv1.2 and TLSv1.3 are")
		return
	case len(older) > 0:
		r.unsupported(name, "%s: not offered here, only TLSv1.2 and TLSv1.3", strings.Join(older, ", "))
	}
	if !has12 && r.free(name, AnnotationBackendTLSMinVersion) {
		r.out[AnnotationBackendTLSMinVersion] = string(lbconfig.TLS13)
	}
	if !has13 && r.free(name, AnnotationBackendTLSMaxVersion) {
		r.out[AnnotationBackendTLSMaxVersion] = string(lbconfig.TLS12)
	}
}
