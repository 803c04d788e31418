package translate

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// Basic authentication annotations on an Ingress: every route of the
// Ingress asks for the users of an htpasswd Secret of its own namespace
// (lbconfig.BasicAuth).
//
// A protection that cannot be honoured must not open the app: an
// annotation that does not read, a Secret that is missing, of another
// namespace, empty, or with a line or hash that is not understood keeps
// the whole Ingress from being served (addRefused holds its paths at
// 503), as ingress-nginx denies the location. A provider that cannot
// verify a hash format rejects the config and the engine leaves just this
// Ingress out. What the model cannot protect, a default backend and TLS
// passthrough, is left out of a protected Ingress with a problem.
const (
	// AnnotationAuthType turns basic authentication on: "basic", the only
	// type.
	AnnotationAuthType = AnnotationPrefix + "auth-type"
	// AnnotationAuthSecret names the Secret of the users: "<name>" or
	// "<namespace>/<name>" of the Ingress's own namespace.
	AnnotationAuthSecret = AnnotationPrefix + "auth-secret"
	// AnnotationAuthSecretType says how the Secret holds the users:
	// AuthSecretFile (the default) or AuthSecretMap.
	AnnotationAuthSecretType = AnnotationPrefix + "auth-secret-type"
	// AnnotationAuthRealm is the realm the browser shows; DefaultAuthRealm
	// without it.
	AnnotationAuthRealm = AnnotationPrefix + "auth-realm"
)

// Values of AnnotationAuthSecretType, and the default realm.
const (
	// AuthSecretFile is an htpasswd file in the Secret's key "auth".
	AuthSecretFile = "auth-file"
	// AuthSecretMap is one key per user, its value the password hash.
	AuthSecretMap = "auth-map"
	// AuthSecretKey is the key of an AuthSecretFile Secret.
	AuthSecretKey = "auth"

	DefaultAuthRealm = "Authentication Required"
)

// basicAuthAnnotations are ours, in the order they are checked.
var basicAuthAnnotations = []string{AnnotationAuthType, AnnotationAuthSecret, AnnotationAuthSecretType, AnnotationAuthRealm}

// basicAuthOf reads the basic authentication of ing against the Secrets
// by "<namespace>/<name>": nil without it, or the field at fault (an
// annotation or the Secret's) and why. The error never quotes a hash.
func basicAuthOf(ing *networkingv1.Ingress, secrets map[string]*corev1.Secret) (*lbconfig.BasicAuth, *lbconfig.Credentials, string, error) {
	a := ing.Annotations
	typ, on := a[AnnotationAuthType]
	if !on {
		for _, key := range basicAuthAnnotations[1:] {
			if _, set := a[key]; set {
				return nil, nil, annotationField(AnnotationAuthType), fmt.Errorf("%s is set without %s: basic, so which protection was meant is unclear", key, AnnotationAuthType)
			}
		}
		return nil, nil, "", nil
	}
	if strings.TrimSpace(typ) != "basic" {
		return nil, nil, annotationField(AnnotationAuthType), fmt.Errorf("%q is not basic, the only authentication type", typ)
	}
	realm := DefaultAuthRealm
	if v, ok := a[AnnotationAuthRealm]; ok {
		realm = strings.TrimSpace(v)
		if err := lbconfig.CheckRealm(realm); err != nil {
			return nil, nil, annotationField(AnnotationAuthRealm), err
		}
	}
	secretType := AuthSecretFile
	if v, ok := a[AnnotationAuthSecretType]; ok {
		secretType = strings.TrimSpace(v)
		if secretType != AuthSecretFile && secretType != AuthSecretMap {
			return nil, nil, annotationField(AnnotationAuthSecretType), fmt.Errorf("%q is not %s or %s", v, AuthSecretFile, AuthSecretMap)
		}
	}
	name, err := authSecretName(ing, a[AnnotationAuthSecret])
	if err != nil {
		return nil, nil, annotationField(AnnotationAuthSecret), err
	}
	key := ing.Namespace + "/" + name
	sec := secrets[key]
	if sec == nil {
		return nil, nil, annotationField(AnnotationAuthSecret), fmt.Errorf("Secret %q not found in namespace %q (basic authentication reads Opaque Secrets)", name, ing.Namespace)
	}
	creds := &lbconfig.Credentials{Name: key}
	if secretType == AuthSecretMap {
		creds.Name += " (" + AuthSecretMap + ")" // another reading of the same Secret
		creds.Users, err = usersOfMap(sec)
	} else {
		creds.Users, err = usersOfFile(sec)
	}
	if err != nil {
		return nil, nil, annotationField(AnnotationAuthSecret), fmt.Errorf("Secret %q: %w", key, err)
	}
	return &lbconfig.BasicAuth{Realm: realm, Credentials: creds.Name}, creds, "", nil
}

// authSecretName reads "<name>" or "<namespace>/<name>", refusing another
// namespace than the Ingress's: reading it would let whoever writes an
// Ingress use (and probe) another namespace's Secrets, which ingress-nginx
// too refuses unless allow-cross-namespace-resources is on.
func authSecretName(ing *networkingv1.Ingress, v string) (string, error) {
	v = strings.TrimSpace(v)
	ns, name, qualified := strings.Cut(v, "/")
	if !qualified {
		ns, name = ing.Namespace, v
	}
	switch {
	case v == "":
		return "", fmt.Errorf("%s: basic needs %s, the Secret of the users", AnnotationAuthType, AnnotationAuthSecret)
	case !isDNSSubdomain(name) || (qualified && !isDNSSubdomain(ns)):
		return "", fmt.Errorf("%q is not a Secret name or <namespace>/<name>", v)
	case ns != ing.Namespace:
		return "", fmt.Errorf("Secret %q is in namespace %q: only Secrets of the Ingress's own namespace %q are read", v, ns, ing.Namespace)
	}
	return name, nil
}

// isDNSSubdomain reports whether s is a Kubernetes object name (RFC 1123
// subdomain).
func isDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
		edge := i == 0 || i == len(s)-1
		if !alnum && (edge || (c != '-' && c != '.')) {
			return false
		}
	}
	return true
}

// usersOfFile reads the htpasswd file in the key "auth": "user:hash"
// lines; empty lines and "#" comments are skipped, and of a user listed
// twice the first line counts, as with nginx.
func usersOfFile(sec *corev1.Secret) ([]lbconfig.User, error) {
	data, ok := secretValue(sec, AuthSecretKey)
	if !ok {
		return nil, fmt.Errorf("no key %q (or it is empty): an htpasswd file belongs there (%s: %s reads one key per user)", AuthSecretKey, AnnotationAuthSecretType, AuthSecretMap)
	}
	var users []lbconfig.User
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, lbconfig.MaxUserNameLength+lbconfig.MaxHashLength+2)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("key %q: line %d is not user:hash", AuthSecretKey, n)
		}
		u, err := checkUser(name, strings.TrimSpace(hash))
		if err != nil {
			return nil, fmt.Errorf("key %q: line %d: %w", AuthSecretKey, n, err)
		}
		users = append(users, u)
		if len(users) > lbconfig.MaxUsers {
			return nil, fmt.Errorf("key %q: more than %d users", AuthSecretKey, lbconfig.MaxUsers)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("key %q: a line is longer than a user and a hash can be", AuthSecretKey)
	}
	return canonicalUsers(users)
}

// usersOfMap reads one user per key, its value the hash.
func usersOfMap(sec *corev1.Secret) ([]lbconfig.User, error) {
	values := map[string][]byte{}
	for k, v := range sec.Data {
		values[k] = v
	}
	for k, v := range sec.StringData {
		values[k] = []byte(v)
	}
	if len(values) > lbconfig.MaxUsers {
		return nil, fmt.Errorf("more than %d users", lbconfig.MaxUsers)
	}
	var users []lbconfig.User
	for _, name := range slices.Sorted(maps.Keys(values)) {
		u, err := checkUser(name, strings.TrimSpace(string(values[name])))
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", name, err)
		}
		users = append(users, u)
	}
	return canonicalUsers(users)
}

func checkUser(name, hash string) (lbconfig.User, error) {
	if err := lbconfig.CheckUserName(name); err != nil {
		return lbconfig.User{}, err
	}
	if _, err := lbconfig.HashFormatOf(hash); err != nil {
		return lbconfig.User{}, fmt.Errorf("user %q: %w", name, err)
	}
	return lbconfig.User{Name: name, Hash: hash}, nil
}

// canonicalUsers sorts users by name, keeping the first of each name, and
// refuses an empty list: a Secret without users would lock everyone out
// by mistake, or was not the one meant.
func canonicalUsers(users []lbconfig.User) ([]lbconfig.User, error) {
	if len(users) == 0 {
		return nil, fmt.Errorf("no user")
	}
	slices.SortStableFunc(users, func(a, b lbconfig.User) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(users, func(a, b lbconfig.User) bool { return a.Name == b.Name }), nil
}

// readBasicAuth reports whether the basic authentication of ing reads; if
// not, the problem says the Ingress is not served. nginx are the
// annotations of an Ingress of the nginx class as written, nil for ours:
// where ing's come from ingress-nginx's (readNginx), the problem names the
// nginx annotation.
func readBasicAuth(ing *networkingv1.Ingress, nginx map[string]string, secrets map[string]*corev1.Secret, ps *problems) bool {
	_, _, field, err := basicAuthOf(ing, secrets)
	if err != nil {
		for _, ours := range basicAuthAnnotations {
			if _, set := nginx[ours]; nginx != nil && !set && field == annotationField(ours) {
				field = nginxField(strings.TrimPrefix(ours, AnnotationPrefix))
			}
		}
		ps.add(ingressRef(ing), field, "InvalidBasicAuth",
			"%v; basic authentication that cannot be honoured must not open the app, so this Ingress is not served", err)
		return false
	}
	return true
}

// useCredentials records c for the config; the same name always reads
// the same Secret the same way, so the first record stands.
func (s *shared) useCredentials(c *lbconfig.Credentials) {
	if _, ok := s.credentials[c.Name]; !ok {
		s.credentials[c.Name] = c
	}
}

// usedCredentials are the recorded credentials that cfg's routes refer to.
func (s *shared) usedCredentials(cfg *lbconfig.Config) []lbconfig.Credentials {
	used := map[string]bool{}
	for _, lb := range cfg.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, vh := range l.VirtualHosts {
				for _, rt := range vh.Routes {
					if rt.BasicAuth != nil {
						used[rt.BasicAuth.Credentials] = true
					}
				}
			}
		}
	}
	var out []lbconfig.Credentials
	for _, name := range slices.Sorted(maps.Keys(used)) {
		if c := s.credentials[name]; c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// passthroughWithAuth reports whether ing, protected by auth, asks for TLS
// passthrough, which the model cannot protect: then it is left out with a
// problem rather than passed through to every client.
func (b *builder) passthroughWithAuth(ing *networkingv1.Ingress, ref lbconfig.ObjectRef, auth *lbconfig.BasicAuth) bool {
	if auth == nil {
		return false
	}
	if on, err := strconv.ParseBool(ing.Annotations[AnnotationSSLPassthrough]); err == nil && on {
		b.problems.add(ref, annotationField(AnnotationSSLPassthrough), "UnprotectedPassthrough",
			"TLS passed through cannot ask for basic authentication (%s), so it is not passed through rather than served without; TLS is terminated as usual", AnnotationAuthType)
	}
	return true
}
