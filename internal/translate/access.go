package translate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// Source-range annotations on an Ingress: comma-separated CIDR ranges and
// addresses (an address is a range of one), applied to every route of the
// Ingress as lbconfig.Access. A client is matched by the address of its
// connection, never by a header.
//
// A protection that cannot be read must not open the app, so a value that
// does not parse keeps the whole Ingress from being served, as a refused
// nginx annotation does (addRefused holds its paths at 503). What the
// model cannot protect, a default backend and TLS passthrough, is left out
// of a protected Ingress with a problem rather than served to every client.
const (
	// AnnotationAllowSourceRange lists the client ranges served; without
	// it every client not denied is.
	AnnotationAllowSourceRange = AnnotationPrefix + "allow-source-range"
	// AnnotationDenySourceRange lists the client ranges refused with 403;
	// it wins over AnnotationAllowSourceRange.
	AnnotationDenySourceRange = AnnotationPrefix + "deny-source-range"
)

// accessOf reads the source-range annotations: nil when neither is set,
// or the key of the first that does not parse and why.
func accessOf(annotations map[string]string) (*lbconfig.Access, string, error) {
	var a lbconfig.Access
	for _, key := range []string{AnnotationAllowSourceRange, AnnotationDenySourceRange} {
		v, ok := annotations[key]
		if !ok {
			continue
		}
		ranges, err := parseSourceRanges(v)
		if err != nil {
			return nil, key, err
		}
		if key == AnnotationAllowSourceRange {
			a.Allow = ranges
		} else {
			a.Deny = ranges
		}
	}
	if a.Allow == nil && a.Deny == nil {
		return nil, "", nil
	}
	return &a, "", nil
}

// readAccess reports whether the source-range annotations of ing parse;
// if not, the problem says the Ingress is not served.
func readAccess(ing *networkingv1.Ingress, ps *problems) bool {
	_, key, err := accessOf(ing.Annotations)
	if err != nil {
		ps.add(ingressRef(ing), annotationField(key), "InvalidAnnotation",
			"%v; a source range that cannot be read must not open the app, so this Ingress is not served", err)
		return false
	}
	return true
}

// parseSourceRanges reads a comma-separated list of CIDR ranges and
// addresses, with spaces around each, as ingress-nginx does, into the
// canonical form of lbconfig.Access: masked, IPv4-mapped ranges as IPv4,
// sorted, without duplicates.
func parseSourceRanges(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for e := range strings.SplitSeq(v, ",") {
		e = strings.TrimSpace(e)
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not a list of addresses and CIDR ranges", clip.Value(v))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = p.Masked()
		if p.Addr().Is4In6() {
			// Masked, so at least 96 bits.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return slices.Compact(out), nil
}
