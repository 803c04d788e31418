package lbconfig

import (
	"cmp"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"ingress-controller/internal/clip"
)

// Request matches and weighted backends, shaped as Gateway API's
// HTTPRouteMatch headers and HTTPBackendRef weights, so that both the
// ingress-nginx canary and HTTPRoute translate into them.
//
// Routes with the same Path and Match form a group. A request takes the
// first route, in the order of VirtualHost.Routes, whose path matches and
// whose conditions (Method, Headers, QueryParams, Cookies) all hold.
// Within a group CompareRoutes puts first the routes with a method
// match, then those with more header matches, then more query parameter
// matches, then more cookie matches, then the lower Rank: Gateway API's
// precedence after the path's. A group that ends with a route without
// conditions serves every request its path picks (the ingress-nginx
// canary's routes always do); one that does not lets a request none of
// its routes match go on to the next route whose path matches, a shorter
// prefix, as Gateway API matches across all the rules of a host; with
// none left the default backend or 404 answers.

// Bounds of request matches and weights.
const (
	MaxMatches       = 16
	MaxMatchValue    = 256
	MaxWeight        = 1_000_000
	MaxWeightedRefs  = 16
	maxRegexpRepeats = 1000
)

// HeaderMatchType says how a HeaderMatch compares a field's value.
type HeaderMatchType string

// Header match types.
const (
	// HeaderExact matches a value equal to Value, byte for byte.
	HeaderExact HeaderMatchType = "Exact"
	// HeaderRegularExpression matches a value in which Value, a regular
	// expression, finds a match (anywhere: anchor it with ^ and $ to
	// match the whole value). Only syntax that means the same in Go's
	// RE2 and HAProxy's PCRE2 is accepted (CheckHeaderRegexp).
	HeaderRegularExpression HeaderMatchType = "RegularExpression"
)

// HeaderMatch holds when the request's first field called Name (compared
// without regard to case) has a value Value matches. A request without
// such a field does not match.
type HeaderMatch struct {
	// Name is lower case: letters, digits and "-".
	Name  string          `json:"name"`
	Type  HeaderMatchType `json:"type"`
	Value string          `json:"value"`
}

// CookieMatch holds when a cookie called Name (compared as it is, RFC
// 6265) in the request's Cookie fields has the value Value exactly. When
// the request has several cookies of that name, any of them matching is
// enough.
type CookieMatch struct {
	// Name is letters, digits, ".", "_" and "-".
	Name  string `json:"name"`
	Value string `json:"value"`
}

// WeightedBackend is one backend of a route that splits its requests.
type WeightedBackend struct {
	Name string `json:"name"`
	// Weight is this backend's share of the route's requests, relative to
	// the sum of the weights; 0 sends it none.
	Weight int32 `json:"weight"`
	// RequestHeaders, if set, changes the requests sent to this backend
	// only, after the route's own RequestHeaders (backendheaders.go).
	RequestHeaders *HeaderModifier `json:"requestHeaders,omitempty"`
}

// HasConditions reports whether the route matches more than a path.
func (r *Route) HasConditions() bool {
	return len(r.Headers) > 0 || len(r.Cookies) > 0 || r.Method != "" || len(r.QueryParams) > 0
}

// Split reports whether the route spreads its requests over Backends.
func (r *Route) Split() bool { return len(r.Backends) > 0 }

// TotalWeight is the sum of the weights of r's Backends.
func (r *Route) TotalWeight() int32 { return totalWeight(r.Backends) }

func totalWeight(bs []WeightedBackend) int32 {
	var t int32
	for _, b := range bs {
		t += b.Weight
	}
	return t
}

// PickBackend returns the backend of a request given n, a number drawn
// uniformly from [0, TotalWeight()): the first backend whose cumulative
// weight exceeds n. A route that does not split returns Backend.
func (r *Route) PickBackend(n int32) string { return pickWeighted(r.Backends, n, r.Backend.Name) }

// pickWeighted returns the first of bs whose cumulative weight exceeds
// n, else primary.
func pickWeighted(bs []WeightedBackend, n int32, primary string) string {
	for _, b := range bs {
		if n < b.Weight {
			return b.Name
		}
		n -= b.Weight
	}
	return primary
}

// CookieValues calls yield with the value of every cookie called name in
// the Cookie field value v ("a=1; b=2"), until yield returns false. Pairs
// without "=" are skipped; white space around names and values is not
// part of them; double quotes around a value are (as HAProxy reads it).
func CookieValues(v, name string, yield func(string) bool) {
	for v != "" {
		var pair string
		pair, v, _ = strings.Cut(v, ";")
		k, val, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		if !yield(strings.TrimSpace(val)) {
			return
		}
	}
}

// CheckMatchHeaderName returns an error unless name can be matched on:
// lower-case letters, digits and "-", as every provider reads it.
func CheckMatchHeaderName(name string) error {
	if name == "" || len(name) > MaxHeaderNameBytes {
		return fmt.Errorf("header name %q is empty or longer than %d bytes", clip.Value(name), MaxHeaderNameBytes)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '-' {
			return fmt.Errorf("header name %q holds %q: only lower-case letters, digits and \"-\" are matched", clip.Value(name), c)
		}
	}
	return nil
}

// CheckMatchCookieName returns an error unless name is letters, digits, ".",
// "_" and "-", at most MaxHeaderNameBytes.
func CheckMatchCookieName(name string) error {
	if name == "" || len(name) > MaxHeaderNameBytes {
		return fmt.Errorf("cookie name %q is empty or longer than %d bytes", clip.Value(name), MaxHeaderNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("cookie name %q holds %q: only letters, digits, \".\", \"_\" and \"-\" are matched", clip.Value(name), c)
		}
	}
	return nil
}

// CheckMatchValue returns an error unless v is a value a match can
// compare: printable ASCII without leading or trailing space, at most
// MaxMatchValue bytes. Cookie values also exclude ";" and ",", white
// space and double quotes, which end or wrap them.
func CheckMatchValue(v string, cookie bool) error {
	if v == "" || len(v) > MaxMatchValue {
		return fmt.Errorf("value %q is empty or longer than %d bytes", clip.Value(v), MaxMatchValue)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < ' ' || c > '~' || (cookie && strings.IndexByte(" ;,\"\\", c) >= 0) {
			return fmt.Errorf("value %q holds %q, which is not matched", clip.Value(v), c)
		}
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("value %q starts or ends with white space", clip.Value(v))
	}
	return nil
}

// CheckHeaderRegexp returns an error unless re is a regular expression
// that means the same in Go's RE2 and in HAProxy's PCRE2, and cannot make
// a backtracking engine take exponential time: printable ASCII, at most
// MaxMatchValue bytes, compiled by RE2 (which refuses backreferences and
// lookaround), without Unicode classes (\p, \P), without a repetition
// inside a repetition, without counts above 1000.
func CheckHeaderRegexp(re string) error {
	if err := CheckMatchValue(re, false); err != nil {
		return err
	}
	if strings.Contains(re, `\p`) || strings.Contains(re, `\P`) || strings.Contains(re, `\C`) {
		return fmt.Errorf("regular expression %q uses a Unicode class", clip.Value(re))
	}
	tree, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return fmt.Errorf("regular expression %q: %v", clip.Value(re), err)
	}
	if err := checkRepeats(tree, false); err != nil {
		return fmt.Errorf("regular expression %q: %v", clip.Value(re), err)
	}
	return nil
}

// checkRepeats refuses nested repetitions and large counts.
func checkRepeats(re *syntax.Regexp, inRepeat bool) error {
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if inRepeat {
			return fmt.Errorf("a repetition inside a repetition")
		}
		if re.Max > maxRegexpRepeats || re.Min > maxRegexpRepeats {
			return fmt.Errorf("a count above %d", maxRegexpRepeats)
		}
		inRepeat = true
	}
	for _, sub := range re.Sub {
		if err := checkRepeats(sub, inRepeat); err != nil {
			return err
		}
	}
	return nil
}

// CompileHeaderMatch returns the regular expression of a
// HeaderRegularExpression match, checked with CheckHeaderRegexp.
func CompileHeaderMatch(m HeaderMatch) (*regexp.Regexp, error) {
	if err := CheckHeaderRegexp(m.Value); err != nil {
		return nil, err
	}
	return regexp.Compile(m.Value)
}

// compareConditions orders routes of the same path as Gateway API ranks
// matches: a method match first, then more header matches, then more
// query parameter matches, then more cookie matches, then the lower
// Rank, then by their text so the order is total.
func compareConditions(a, b Route) int {
	if c := cmp.Compare(min(len(b.Method), 1), min(len(a.Method), 1)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.Headers), len(a.Headers)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.QueryParams), len(a.QueryParams)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.Cookies), len(a.Cookies)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Rank, b.Rank); c != 0 {
		return c
	}
	if c := slices.CompareFunc(a.Headers, b.Headers, func(x, y HeaderMatch) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Type, y.Type), cmp.Compare(x.Value, y.Value))
	}); c != 0 {
		return c
	}
	if c := cmp.Or(cmp.Compare(a.Method, b.Method), slices.CompareFunc(a.QueryParams, b.QueryParams, compareQueryParams)); c != 0 {
		return c
	}
	return slices.CompareFunc(a.Cookies, b.Cookies, func(x, y CookieMatch) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Value, y.Value))
	})
}

// sortSplit orders a route's matches and weighted backends by name.
func (r *Route) sortSplit() {
	slices.SortFunc(r.Headers, func(x, y HeaderMatch) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Type, y.Type), cmp.Compare(x.Value, y.Value))
	})
	slices.SortFunc(r.Cookies, func(x, y CookieMatch) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Value, y.Value))
	})
	slices.SortFunc(r.Backends, func(x, y WeightedBackend) int { return cmp.Compare(x.Name, y.Name) })
	r.sortBackendHeaders()
	r.sortRequestMatches()
	r.sortMirrors()
	r.sortRetry()
}

// split checks a route's matches and weighted backends; ref checks that
// a backend exists.
func (v *validator) split(f string, r Route, ref func(string, *BackendRef)) {
	v.requestMatches(f, r)
	if r.Rank < 0 {
		v.add(f+".rank", fmt.Sprintf("rank %d is negative", r.Rank))
	}
	if len(r.Headers)+len(r.Cookies) > MaxMatches {
		v.add(f+".headers", fmt.Sprintf("more than %d header and cookie matches", MaxMatches))
	}
	for i, m := range r.Headers {
		hf := fmt.Sprintf("%s.headers[%d]", f, i)
		if err := CheckMatchHeaderName(m.Name); err != nil {
			v.add(hf+".name", err.Error())
		}
		if i > 0 && r.Headers[i-1].Name == m.Name {
			v.add(hf+".name", fmt.Sprintf("header %q is matched twice", m.Name))
		}
		switch m.Type {
		case HeaderExact:
			if err := CheckMatchValue(m.Value, false); err != nil {
				v.add(hf+".value", err.Error())
			}
		case HeaderRegularExpression:
			if err := CheckHeaderRegexp(m.Value); err != nil {
				v.add(hf+".value", err.Error())
			}
		default:
			v.add(hf+".type", fmt.Sprintf("unknown header match type %q", m.Type))
		}
	}
	for i, m := range r.Cookies {
		cf := fmt.Sprintf("%s.cookies[%d]", f, i)
		if err := CheckMatchCookieName(m.Name); err != nil {
			v.add(cf+".name", err.Error())
		}
		if i > 0 && r.Cookies[i-1].Name == m.Name {
			v.add(cf+".name", fmt.Sprintf("cookie %q is matched twice", m.Name))
		}
		if err := CheckMatchValue(m.Value, true); err != nil {
			v.add(cf+".value", err.Error())
		}
	}
	if !r.Split() {
		return
	}
	v.weighted(f+".backends", f+".backend", r.Backend.Name, r.Backends, ref)
	v.backendHeaders(f+".backends", r.Backends)
	if r.HTTPSRedirect != nil {
		v.add(f+".backends", "a route that redirects to HTTPS has no backends to split")
	}
}

// weighted checks weighted backends bs at field f (sorted, existing,
// weights within bounds and adding up to at least 1) and that primary,
// the backend at field pf, is one of them.
func (v *validator) weighted(f, pf, primary string, bs []WeightedBackend, ref func(string, *BackendRef)) {
	if len(bs) > MaxWeightedRefs {
		v.add(f, fmt.Sprintf("more than %d backends", MaxWeightedRefs))
	}
	found := false
	var total int64
	for i, b := range bs {
		bf := fmt.Sprintf("%s[%d]", f, i)
		ref(bf+".name", &BackendRef{Name: b.Name})
		if i > 0 && bs[i-1].Name >= b.Name {
			v.add(bf+".name", fmt.Sprintf("%q must come after %q, once (sorted without duplicates)", b.Name, bs[i-1].Name))
		}
		if b.Weight < 0 || b.Weight > MaxWeight {
			v.add(bf+".weight", fmt.Sprintf("%d is not within 0 and %d", b.Weight, MaxWeight))
		}
		total += int64(b.Weight)
		found = found || b.Name == primary
	}
	if !found {
		v.add(pf, fmt.Sprintf("%q must be one of the backends", primary))
	}
	if total <= 0 || total > MaxWeight {
		v.add(f, fmt.Sprintf("the weights add up to %d, not within 1 and %d", total, MaxWeight))
	}
}
