package translate

import (
	"fmt"
	"strings"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Hashing and the send timeout: ingress-controller.io/hash-by spreads an
// Ingress's requests over its backends' endpoints by a key read from each
// request (lbconfig.Hash), and send-timeout bounds each write of a request
// to the backend. ingress-nginx's upstream-hash-by and proxy-send-timeout
// become these (readHashBy, readSendTimeout), and affinity-canary-behavior
// is read as what it means for our canaries (readCanaryBehavior).

// Annotations of this file; docs/annotations.md documents them.
const (
	AnnotationHashBy      = AnnotationPrefix + "hash-by"
	AnnotationSendTimeout = AnnotationPrefix + "send-timeout"
)

// hashOf reads hash-by: a comma-separated list of key parts,
// client-address, request-uri, path, header:<name>, cookie:<name> and
// text:<literal>. A value that does not parse is reported and ignored;
// with affinity set too, affinity wins, as cookie affinity wins over
// ingress-nginx's hashing.
func (a annotationReader) hashOf(pol *lbconfig.Policy) {
	v, ok := a.get(AnnotationHashBy)
	if !ok {
		return
	}
	if pol.Affinity != nil {
		a.invalid(AnnotationHashBy, "%s is also set and wins; this annotation is ignored", AnnotationAffinity)
		return
	}
	h, err := parseHashBy(v)
	if err != nil {
		a.invalid(AnnotationHashBy, "%v; the load is balanced without a hash", err)
		return
	}
	if _, set := a.annotations[AnnotationLoadBalance]; set {
		a.invalid(AnnotationLoadBalance, "%s is also set and picks the endpoints; this annotation is ignored", AnnotationHashBy)
		pol.Algorithm = ""
	}
	pol.Hash = h
	a.took()
}

// parseHashBy reads the value of hash-by.
func parseHashBy(v string) (*lbconfig.Hash, error) {
	if len(v) > 1024 {
		return nil, fmt.Errorf("%q is longer than 1024 characters", clip.Value(v))
	}
	h := &lbconfig.Hash{}
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if len(h.Key) == lbconfig.MaxHashParts {
			return nil, fmt.Errorf("%q has more than %d parts", clip.Value(v), lbconfig.MaxHashParts)
		}
		kind, name, named := strings.Cut(item, ":")
		var part lbconfig.HashPart
		switch kind {
		case "client-address":
			part.Type = lbconfig.HashClientAddress
		case "request-uri":
			part.Type = lbconfig.HashRequestURI
		case "path":
			part.Type = lbconfig.HashPath
		case "header":
			part.Type, name = lbconfig.HashHeader, strings.ToLower(name)
		case "cookie":
			part.Type = lbconfig.HashCookie
		case "text":
			part.Type = lbconfig.HashLiteral
		default:
			return nil, fmt.Errorf("%q is not client-address, request-uri, path, header:<name>, cookie:<name> or text:<text>", clip.Value(item))
		}
		if named {
			part.Name = name
		}
		if err := lbconfig.CheckHashPart(part); err != nil {
			return nil, fmt.Errorf("%q: %v", clip.Value(item), err)
		}
		h.Key = append(h.Key, part)
	}
	return h, nil
}

// formatHashBy writes h as hash-by's value.
func formatHashBy(h *lbconfig.Hash) string {
	items := make([]string, len(h.Key))
	for i, p := range h.Key {
		switch p.Type {
		case lbconfig.HashClientAddress:
			items[i] = "client-address"
		case lbconfig.HashRequestURI:
			items[i] = "request-uri"
		case lbconfig.HashPath:
			items[i] = "path"
		case lbconfig.HashHeader:
			items[i] = "header:" + p.Name
		case lbconfig.HashCookie:
			items[i] = "cookie:" + p.Name
		case lbconfig.HashLiteral:
			items[i] = "text:" + p.Name
		}
	}
	return strings.Join(items, ",")
}

// parseNginxHashBy reads the value of ingress-nginx's upstream-hash-by:
// nginx variables ($name or ${name}) and the text between them,
// concatenated. It returns the variable or text it cannot hash on.
func parseNginxHashBy(v string) (*lbconfig.Hash, string) {
	h := &lbconfig.Hash{}
	add := func(p lbconfig.HashPart, what string) string {
		if len(h.Key) == lbconfig.MaxHashParts {
			return fmt.Sprintf("more than %d variables and texts", lbconfig.MaxHashParts)
		}
		if lbconfig.CheckHashPart(p) != nil {
			return what
		}
		h.Key = append(h.Key, p)
		return ""
	}
	for rest := v; rest != ""; {
		i := strings.IndexByte(rest, '$')
		if i != 0 {
			text := rest
			if i > 0 {
				text = rest[:i]
			}
			if bad := add(lbconfig.HashPart{Type: lbconfig.HashLiteral, Name: text}, fmt.Sprintf("the text %q", clip.Value(text))); bad != "" {
				return nil, bad
			}
			rest = rest[len(text):]
			continue
		}
		name, n := nginxVariable(rest)
		if bad := add(nginxHashPart(name), "$"+clip.Value(name)); bad != "" || n == 0 {
			return nil, "$" + clip.Value(name)
		}
		rest = rest[n:]
	}
	if len(h.Key) == 0 {
		return nil, "an empty key"
	}
	return h, ""
}

// nginxVariable reads the variable at the start of s ("$name" or
// "${name}") and returns its name and length, 0 if it is not one.
func nginxVariable(s string) (string, int) {
	if strings.HasPrefix(s, "${") {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return s[1:], 0
		}
		return s[2:end], end + 1
	}
	n := 1
	for n < len(s) && (s[n] == '_' || 'a' <= s[n] && s[n] <= 'z' || 'A' <= s[n] && s[n] <= 'Z' || '0' <= s[n] && s[n] <= '9') {
		n++
	}
	return s[1:n], n
}

// nginxHashPart is the key part of an nginx variable; the zero part
// (which CheckHashPart refuses) for one we cannot read.
func nginxHashPart(name string) lbconfig.HashPart {
	switch name {
	case "remote_addr", "binary_remote_addr":
		return lbconfig.HashPart{Type: lbconfig.HashClientAddress}
	case "request_uri":
		return lbconfig.HashPart{Type: lbconfig.HashRequestURI}
	case "uri", "document_uri":
		return lbconfig.HashPart{Type: lbconfig.HashPath}
	case "host", "http_host":
		return lbconfig.HashPart{Type: lbconfig.HashHeader, Name: "host"}
	}
	if h, ok := strings.CutPrefix(name, "http_"); ok {
		return lbconfig.HashPart{Type: lbconfig.HashHeader, Name: strings.ReplaceAll(strings.ToLower(h), "_", "-")}
	}
	if c, ok := strings.CutPrefix(name, "cookie_"); ok {
		return lbconfig.HashPart{Type: lbconfig.HashCookie, Name: c}
	}
	return lbconfig.HashPart{}
}

// readHashBy reads upstream-hash-by, which cookie affinity wins over, as
// in ingress-nginx: a client address alone is source-ip affinity (also a
// consistent hash), anything else our hash-by. A variable that cannot be
// read here leaves the load balanced without it.
func (r *nginxReader) readHashBy(v string) {
	const name = "upstream-hash-by"
	if v == "$remote_addr" || v == "$binary_remote_addr" {
		if r.free(name, AnnotationAffinity) && r.free(name, AnnotationHashBy) {
			r.out[AnnotationAffinity] = string(lbconfig.AffinityBySourceIP)
		}
		return
	}
	h, bad := parseNginxHashBy(v)
	if h == nil {
		r.unsupported(name, "hashing on %s is not supported here, only on $remote_addr, $binary_remote_addr, $request_uri, $uri, $host, $http_<header>, $cookie_<name> and text of letters, digits and -._~:/@; the load is balanced as without it", bad)
		return
	}
	if r.free(name, AnnotationAffinity) && r.free(name, AnnotationHashBy) {
		r.out[AnnotationHashBy] = formatHashBy(h)
		if _, ours := r.in[AnnotationLoadBalance]; !ours {
			// ingress-nginx hashes whatever load-balance says.
			delete(r.out, AnnotationLoadBalance)
		}
	}
}

// readSendTimeout reads proxy-send-timeout, whole seconds, into ours.
func (r *nginxReader) readSendTimeout() {
	const name = "proxy-send-timeout"
	if v, ok := r.get(name); ok && r.free(name, AnnotationSendTimeout) {
		if d, ok := r.timeout(name, v); ok {
			r.out[AnnotationSendTimeout] = d
		}
	}
}
