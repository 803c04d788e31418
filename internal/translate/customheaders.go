package translate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// ingress-nginx's custom-headers names a ConfigMap, "<namespace>/<name>",
// whose keys and values are response headers set on every response of the
// Ingress's routes, each only if the controller allows its name
// (ingress-nginx's global-allowed-response-headers, here
// Options.NginxAllowedResponseHeaders, none by default). They become set
// lines of our response-headers, which wins on a header both set.
//
// ingress-nginx answers 503 on every path of the Ingress when the
// ConfigMap is missing or one of its keys or values is refused. These
// headers protect nothing that the app can count on (a client may ignore
// them), so here the Ingress is served without the headers at fault, each
// with a problem naming its key. Unlike ingress-nginx, which takes a
// ConfigMap of any namespace it watches although its documentation says
// otherwise, only the Ingress's own namespace is read: another
// namespace's ConfigMap is not for whoever writes the Ingress to read
// back in responses.

// maxCustomHeaderProblems bounds the problems of one custom-headers
// annotation; one more problem counts the rest.
const maxCustomHeaderProblems = 10

// nginxInputs are what readNginx reads besides the Ingress.
type nginxInputs struct {
	// configMaps are the snapshot's ConfigMaps by "<namespace>/<name>".
	configMaps map[string]*corev1.ConfigMap
	// allowedResponseHeaders is Options.NginxAllowedResponseHeaders.
	allowedResponseHeaders []string
}

// newNginxInputs indexes snap for readNginx.
func newNginxInputs(snap *Snapshot, opts Options) nginxInputs {
	in := nginxInputs{configMaps: map[string]*corev1.ConfigMap{}, allowedResponseHeaders: opts.NginxAllowedResponseHeaders}
	for _, cm := range snap.ConfigMaps {
		if cm == nil {
			continue
		}
		// As for Services, the first of duplicates wins.
		if key := cm.Namespace + "/" + cm.Name; in.configMaps[key] == nil {
			in.configMaps[key] = cm
		}
	}
	return in
}

// readCustomHeaders reads custom-headers into our response headers.
func (r *nginxReader) readCustomHeaders() {
	const name = "custom-headers"
	v, ok := r.get(name)
	if !ok {
		return
	}
	cm, ok := r.customHeadersConfigMap(name, v)
	if !ok {
		return
	}
	ours := &lbconfig.HeaderModifier{}
	if text, set := r.in[AnnotationResponseHeaders]; set {
		var err error
		if ours, err = parseHeaderChanges(text, false); err != nil {
			r.problem(name, "OverriddenAnnotation", "%s is also set and wins (it cannot be read); this annotation is ignored", AnnotationResponseHeaders)
			return
		}
	}
	c := customHeaders{r: r, name: name, cm: cm.Namespace + "/" + cm.Name, changes: len(ours.Set) + len(ours.Add) + len(ours.Remove)}
	var lines []string
	for _, key := range slices.Sorted(maps.Keys(cm.Data)) {
		if h, ok := c.check(key, cm.Data[key], ours); ok {
			lines = append(lines, "set "+h.Name+": "+h.Value)
		}
	}
	c.reportRest()
	if len(lines) == 0 {
		return
	}
	if text := strings.TrimSpace(r.in[AnnotationResponseHeaders]); text != "" {
		lines = append([]string{text}, lines...)
	}
	r.out[AnnotationResponseHeaders] = strings.Join(lines, "\n")
}

// customHeadersConfigMap finds the ConfigMap that v names, or reports why
// no header is added.
func (r *nginxReader) customHeadersConfigMap(name, v string) (*corev1.ConfigMap, bool) {
	ns, cmName, qualified := strings.Cut(v, "/")
	if !qualified {
		ns, cmName = r.ref.Namespace, v
	}
	switch {
	case cmName == "" || ns == "" || strings.Contains(cmName, "/"):
		r.invalid(name, "%q is not <namespace>/<name> of a ConfigMap; no header is added", clip.Value(v))
		return nil, false
	case ns != r.ref.Namespace:
		r.invalid(name, "ConfigMap %q is in namespace %q: only ConfigMaps of the Ingress's own namespace %q are read; no header is added",
			clip.Value(v), clip.Value(ns), r.ref.Namespace)
		return nil, false
	case len(r.inputs.allowedResponseHeaders) == 0:
		r.invalid(name, "no response header is allowed: --nginx-allowed-response-headers (ingress-nginx's global-allowed-response-headers) is empty; no header is added")
		return nil, false
	}
	cm := r.inputs.configMaps[ns+"/"+cmName]
	if cm == nil {
		r.invalid(name, "ConfigMap %q not found in namespace %q; no header is added", clip.Value(cmName), ns)
		return nil, false
	}
	return cm, true
}

// customHeaders checks the keys of one custom-headers ConfigMap.
type customHeaders struct {
	r    *nginxReader
	name string
	// cm is "<namespace>/<name>" of the ConfigMap.
	cm string
	// changes counts the header changes so far, ours included.
	changes int
	// problems counts the keys refused.
	problems int
}

// check returns the header of key and value, or reports why it is not
// added.
func (c *customHeaders) check(key, value string, ours *lbconfig.HeaderModifier) (lbconfig.Header, bool) {
	h := lbconfig.Header{Name: key, Value: strings.TrimSpace(value)}
	var err error
	switch {
	case !isNginxHeaderName(key):
		err = fmt.Errorf("not a header name (letters, digits, '-' and '_')")
	case !slices.ContainsFunc(c.r.inputs.allowedResponseHeaders, func(a string) bool { return strings.EqualFold(a, key) }):
		err = fmt.Errorf("not among the names --nginx-allowed-response-headers allows")
	case !isNginxHeaderValue(h.Value):
		err = fmt.Errorf("value %q is empty or not printable ASCII", clip.Value(value))
	case changesHeader(ours, key):
		c.r.problem(c.name, "OverriddenAnnotation", "key %q of ConfigMap %s: %s also changes this header and wins; the key is ignored", key, c.cm, AnnotationResponseHeaders)
		return h, false
	case c.changes >= lbconfig.MaxHeaderChanges:
		err = fmt.Errorf("one header change too many: at most %d, with those of %s", lbconfig.MaxHeaderChanges, AnnotationResponseHeaders)
	default:
		err = (&lbconfig.HeaderModifier{Set: []lbconfig.Header{h}}).Check(false)
	}
	if err != nil {
		c.refuse(key, headerChangeError(err))
		return h, false
	}
	c.changes++
	return h, true
}

// refuse reports a key that is not added, up to maxCustomHeaderProblems.
func (c *customHeaders) refuse(key string, err error) {
	if c.problems++; c.problems <= maxCustomHeaderProblems {
		c.r.invalid(c.name, "key %q of ConfigMap %s: %v; this header is not added", clip.Value(key), c.cm, err)
	}
}

// reportRest counts the keys refused beyond maxCustomHeaderProblems.
func (c *customHeaders) reportRest() {
	if n := c.problems - maxCustomHeaderProblems; n > 0 {
		c.r.invalid(c.name, "%d more keys of ConfigMap %s are not added", n, c.cm)
	}
}

// changesHeader reports whether m changes the header name.
func changesHeader(m *lbconfig.HeaderModifier, name string) bool {
	same := func(h lbconfig.Header) bool { return strings.EqualFold(h.Name, name) }
	return slices.ContainsFunc(m.Set, same) || slices.ContainsFunc(m.Add, same) ||
		slices.ContainsFunc(m.Remove, func(n string) bool { return strings.EqualFold(n, name) })
}

// isNginxHeaderName reports whether ingress-nginx takes name as a header
// name: letters, digits, '-' and '_'.
func isNginxHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c|0x20 && c|0x20 <= 'z') && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// isNginxHeaderValue reports whether ingress-nginx takes v as a header
// value: printable ASCII and spaces, not empty.
func isNginxHeaderValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			return false
		}
	}
	return true
}
