package lbconfig

import (
	"fmt"
	"strings"
)

// Wildcards of two kinds. Ingress's "*.example.com" matches exactly one
// leading label: a.example.com but not a.b.example.com. Gateway API's
// matches one or more: both. A VirtualHost says which with MultiLabel.
//
// When several match a host, the most specific wins: an exact name, else
// the one-label wildcard (there is at most one: it is the host less its
// first label), else the multi-label wildcard with the longest suffix. A
// one-label wildcard that matches is never less specific than a
// multi-label one that matches: both suffixes end the host, and the
// one-label suffix is the longest a wildcard can have. So providers look
// up the exact name, then the host less its first label among all
// wildcards, then shorter suffixes among multi-label wildcards only.

// Matches reports whether vh serves the request host, which must be
// normalized (NormalizeHost), leaving more specific virtual hosts aside.
func (vh *VirtualHost) Matches(host string) bool {
	if !vh.MultiLabel {
		return HostMatches(vh.Hostname, host)
	}
	suffix := vh.Hostname[1:] // ".example.com"
	return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
}

// moreSpecific reports whether wildcard a takes a host that both match
// before wildcard b: one-label before multi-label, then the longer
// suffix.
func moreSpecific(a, b *VirtualHost) bool {
	if a.MultiLabel != b.MultiLabel {
		return !a.MultiLabel
	}
	return len(a.Hostname) > len(b.Hostname)
}

// checkMultiLabel checks the MultiLabel of virtual host vh, at field f.
func (v *validator) checkMultiLabel(f string, vh *VirtualHost) {
	if vh.MultiLabel && !strings.HasPrefix(vh.Hostname, "*.") {
		v.add(f+".multiLabel", fmt.Sprintf("only a wildcard hostname matches more labels, not %q", vh.Hostname))
	}
}
