package lbconfig

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"ingress-controller/internal/clip"
)

// Method and query parameter matches, shaped as Gateway API's
// HTTPRouteMatch method and queryParams. They are conditions of a route
// like Headers (see split.go for how the routes of one path are tried).
//
// A query parameter is compared as it appears in the request target,
// never percent-decoded: "a%20b" is not "a b", and "%61=1" names no
// parameter "a". Parameters are separated by "&" or ";" (HAProxy's urlp
// reads both); a parameter is "name=value", one without "=" has no value
// and matches nothing; when a name is repeated only its first parameter
// counts, as Gateway API recommends. Names are compared exactly,
// case-sensitive.

// MaxMethodBytes bounds Route.Method.
const MaxMethodBytes = 32

// QueryParamMatch holds when the request's first query parameter called
// Name has a value Value matches: equal to it (HeaderExact) or found by
// it (HeaderRegularExpression, anywhere in the value: anchor it with ^
// and $, with the syntax CheckHeaderRegexp accepts). A request without
// such a parameter does not match.
type QueryParamMatch struct {
	// Name is printable ASCII without space, "&", ";", "=", "#" or "%".
	Name  string          `json:"name"`
	Type  HeaderMatchType `json:"type"`
	Value string          `json:"value"`
}

// QueryValue returns the value of the first parameter called name in
// query, the part of a request target after its first "?", and whether
// there is one (see the top of this file).
func QueryValue(query, name string) (string, bool) {
	for query != "" {
		var param string
		if i := strings.IndexAny(query, "&;"); i >= 0 {
			param, query = query[:i], query[i+1:]
		} else {
			param, query = query, ""
		}
		if k, v, ok := strings.Cut(param, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// MethodMatches reports whether a request with method meets the route's
// Method, compared exactly (methods are case-sensitive, RFC 9110): "get"
// is not "GET", and a HEAD request does not match "GET".
func (r *Route) MethodMatches(method string) bool {
	return r.Method == "" || r.Method == method
}

// QueryMatches reports whether a request with the query (after "?", ""
// for none) meets every QueryParams of the route. It compiles regular
// expressions on each call: it is the reference providers are tested
// against, not a matcher to route with.
func (r *Route) QueryMatches(query string) bool {
	for _, m := range r.QueryParams {
		v, ok := QueryValue(query, m.Name)
		if !ok {
			return false
		}
		switch m.Type {
		case HeaderExact:
			if v != m.Value {
				return false
			}
		case HeaderRegularExpression:
			re, err := CompileQueryMatch(m)
			if err != nil || !re.MatchString(v) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// CompileQueryMatch returns the regular expression of a
// HeaderRegularExpression query match, checked with CheckHeaderRegexp.
func CompileQueryMatch(m QueryParamMatch) (*regexp.Regexp, error) {
	if err := CheckHeaderRegexp(m.Value); err != nil {
		return nil, err
	}
	return regexp.Compile(m.Value)
}

// CheckQueryName returns an error unless name is a query parameter name
// a match can compare on every provider (see QueryParamMatch.Name), at
// most MaxHeaderNameBytes.
func CheckQueryName(name string) error {
	if name == "" || len(name) > MaxHeaderNameBytes {
		return fmt.Errorf("query parameter name %q is empty or longer than %d bytes", clip.Value(name), MaxHeaderNameBytes)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("&;=#%", c) >= 0 {
			return fmt.Errorf("query parameter name %q holds %q, which is not matched", clip.Value(name), c)
		}
	}
	return nil
}

// CheckQueryValue returns an error unless v is a value an Exact query
// match can compare: printable ASCII without space, "&", ";" or "#"
// (which end a parameter or a target), at most MaxMatchValue bytes. A
// "%" is allowed: the value is compared as the client encoded it.
func CheckQueryValue(v string) error {
	if v == "" || len(v) > MaxMatchValue {
		return fmt.Errorf("value %q is empty or longer than %d bytes", clip.Value(v), MaxMatchValue)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("&;#", c) >= 0 {
			return fmt.Errorf("value %q holds %q, which a query parameter's value never holds", clip.Value(v), c)
		}
	}
	return nil
}

// CheckMethod returns an error unless m is a method a route can match:
// upper-case letters, at most MaxMethodBytes (GET, POST, PATCH, ...).
func CheckMethod(m string) error {
	if m == "" || len(m) > MaxMethodBytes {
		return fmt.Errorf("method %q is empty or longer than %d bytes", clip.Value(m), MaxMethodBytes)
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			return fmt.Errorf("method %q holds %q: only upper-case letters are matched", clip.Value(m), c)
		}
	}
	return nil
}

// compareQueryParams orders query matches by name, type and value.
func compareQueryParams(x, y QueryParamMatch) int {
	return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Type, y.Type), cmp.Compare(x.Value, y.Value))
}

// sortRequestMatches orders a route's query matches by name.
func (r *Route) sortRequestMatches() {
	slices.SortFunc(r.QueryParams, compareQueryParams)
}

// requestMatches checks a route's method and query matches; they count
// towards MaxMatches with its header and cookie matches.
func (v *validator) requestMatches(f string, r Route) {
	if r.Method != "" {
		if err := CheckMethod(r.Method); err != nil {
			v.add(f+".method", err.Error())
		}
	}
	if len(r.Headers)+len(r.Cookies)+len(r.QueryParams) > MaxMatches {
		v.add(f+".queryParams", fmt.Sprintf("more than %d header, cookie and query parameter matches", MaxMatches))
	}
	for i, m := range r.QueryParams {
		qf := fmt.Sprintf("%s.queryParams[%d]", f, i)
		if err := CheckQueryName(m.Name); err != nil {
			v.add(qf+".name", err.Error())
		}
		if i > 0 && r.QueryParams[i-1].Name == m.Name {
			v.add(qf+".name", fmt.Sprintf("query parameter %q is matched twice", clip.Value(m.Name)))
		}
		switch m.Type {
		case HeaderExact:
			if err := CheckQueryValue(m.Value); err != nil {
				v.add(qf+".value", err.Error())
			}
		case HeaderRegularExpression:
			if err := CheckHeaderRegexp(m.Value); err != nil {
				v.add(qf+".value", err.Error())
			}
		default:
			v.add(qf+".type", fmt.Sprintf("unknown query parameter match type %q", m.Type))
		}
	}
}
