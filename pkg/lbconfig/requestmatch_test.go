package lbconfig

import (
	"slices"
	"strings"
	"testing"
)

func TestQueryValue(t *testing.T) {
	for _, tc := range []struct {
		query, name string
		want        string
		found       bool
	}{
		{"a=1", "a", "1", true},
		{"a=1&a=2", "a", "1", true},
		{"b=1&a=2", "a", "2", true},
		{"b=1;a=3", "a", "3", true},
		{"a=1;b=2", "a", "1", true},
		{"a", "a", "", false},
		{"a&a=2", "a", "2", true},
		{"a=", "a", "", true},
		{"xa=1", "a", "", false},
		{"A=1", "a", "", false},
		{"%61=1", "a", "", false},
		{"b=a=1", "a", "", false},
		{"a=1=2", "a", "1=2", true},
		{"a=x%26y", "a", "x%26y", true},
		{"b=1&&a=5", "a", "5", true},
		{"a=%00", "a", "%00", true},
		{"", "a", "", false},
		{strings.Repeat("x=1&", 100000) + "a=z", "a", "z", true},
	} {
		got, found := QueryValue(tc.query, tc.name)
		if got != tc.want || found != tc.found {
			t.Errorf("QueryValue(%.40q, %q) = %q, %v, want %q, %v", tc.query, tc.name, got, found, tc.want, tc.found)
		}
	}
}

func TestRouteRequestMatches(t *testing.T) {
	r := Route{Method: "GET", QueryParams: []QueryParamMatch{
		{Name: "animal", Type: HeaderExact, Value: "whale"},
		{Name: "n", Type: HeaderRegularExpression, Value: "^[0-9]+$"},
	}}
	for _, tc := range []struct {
		method, query string
		want          bool
	}{
		{"GET", "animal=whale&n=42", true},
		{"GET", "n=42&animal=whale&x=1", true},
		{"HEAD", "animal=whale&n=42", false},
		{"get", "animal=whale&n=42", false},
		{"GET", "animal=Whale&n=42", false},
		{"GET", "ANIMAL=whale&n=42", false},
		{"GET", "animal=whale&n=4x2", false},
		{"GET", "animal=whale&n=42&animal=dolphin", true},
		{"GET", "animal=dolphin&animal=whale&n=42", false},
		{"GET", "animal=whale", false},
		{"GET", "animal=%77hale&n=1", false},
		{"GET", "", false},
	} {
		if got := r.MethodMatches(tc.method) && r.QueryMatches(tc.query); got != tc.want {
			t.Errorf("%s ?%s: matches = %v, want %v", tc.method, tc.query, got, tc.want)
		}
	}
	if plain := (Route{}); !plain.MethodMatches("PATCH") || !plain.QueryMatches("x") {
		t.Error("a route without method or query matches refuses a request")
	}
}

// TestCompareConditionsGatewayOrder: a method match before more header
// matches, more header matches before more query matches, more query
// matches before more cookie matches.
func TestCompareConditionsGatewayOrder(t *testing.T) {
	h := []HeaderMatch{{Name: "a", Type: HeaderExact, Value: "1"}}
	h2 := []HeaderMatch{{Name: "a", Type: HeaderExact, Value: "1"}, {Name: "b", Type: HeaderExact, Value: "1"}}
	q := []QueryParamMatch{{Name: "a", Type: HeaderExact, Value: "1"}}
	q2 := []QueryParamMatch{{Name: "a", Type: HeaderExact, Value: "1"}, {Name: "b", Type: HeaderExact, Value: "1"}}
	c := []CookieMatch{{Name: "a", Value: "1"}}
	ordered := []Route{
		{Method: "GET", Headers: h},
		{Method: "GET"},
		{Headers: h2},
		{Headers: h, QueryParams: q},
		{Headers: h},
		{QueryParams: q2},
		{QueryParams: q, Cookies: c},
		{QueryParams: q},
		{Cookies: c},
		{},
	}
	for i := range ordered {
		ordered[i].Path, ordered[i].Match = "/", MatchPrefix
	}
	shuffled := slices.Clone(ordered)
	slices.Reverse(shuffled)
	slices.SortStableFunc(shuffled, CompareRoutes)
	for i := range ordered {
		if CompareRoutes(shuffled[i], ordered[i]) != 0 {
			t.Fatalf("position %d: got %+v, want %+v", i, shuffled[i], ordered[i])
		}
	}
	// The path still comes first: a longer prefix without conditions
	// before a shorter one with a method.
	long := Route{Path: "/path5", Match: MatchPrefix}
	short := Route{Path: "/", Match: MatchPrefix, Method: "PATCH"}
	if CompareRoutes(long, short) >= 0 {
		t.Error("a shorter prefix with a method match comes before a longer prefix")
	}
}

func TestValidateRequestMatches(t *testing.T) {
	const rf = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"
	for name, tc := range map[string]struct {
		change func(r *Route)
		field  string
	}{
		"ok":                {func(r *Route) {}, ""},
		"lower-case method": {func(r *Route) { r.Method = "get" }, rf + ".method"},
		"method with CRLF":  {func(r *Route) { r.Method = "GET\r\nX: y" }, rf + ".method"},
		"huge method":       {func(r *Route) { r.Method = strings.Repeat("A", MaxMethodBytes+1) }, rf + ".method"},
		"name with =":       {func(r *Route) { r.QueryParams[0].Name = "a=b" }, rf + ".queryParams[0].name"},
		"name with &":       {func(r *Route) { r.QueryParams[0].Name = "a&b" }, rf + ".queryParams[0].name"},
		"name encoded":      {func(r *Route) { r.QueryParams[0].Name = "%61" }, rf + ".queryParams[0].name"},
		"empty name":        {func(r *Route) { r.QueryParams[0].Name = "" }, rf + ".queryParams[0].name"},
		"huge name":         {func(r *Route) { r.QueryParams[0].Name = strings.Repeat("n", MaxHeaderNameBytes+1) }, rf + ".queryParams[0].name"},
		"value with ;":      {func(r *Route) { r.QueryParams[0].Value = "a;b" }, rf + ".queryParams[0].value"},
		"value with space":  {func(r *Route) { r.QueryParams[0].Value = "a b" }, rf + ".queryParams[0].value"},
		"value with NUL":    {func(r *Route) { r.QueryParams[0].Value = "a\x00" }, rf + ".queryParams[0].value"},
		"value with CRLF":   {func(r *Route) { r.QueryParams[0].Value = "a\r\nb" }, rf + ".queryParams[0].value"},
		"non-ASCII value":   {func(r *Route) { r.QueryParams[0].Value = "é" }, rf + ".queryParams[0].value"},
		"huge value":        {func(r *Route) { r.QueryParams[0].Value = strings.Repeat("v", MaxMatchValue+1) }, rf + ".queryParams[0].value"},
		"encoded value ok":  {func(r *Route) { r.QueryParams[0].Value = "a%20b%00" }, ""},
		"unknown type":      {func(r *Route) { r.QueryParams[0].Type = "Prefix" }, rf + ".queryParams[0].type"},
		"nested repeat":     {func(r *Route) { r.QueryParams[0].Type, r.QueryParams[0].Value = HeaderRegularExpression, "(a+)+$" }, rf + ".queryParams[0].value"},
		"duplicate name": {func(r *Route) {
			r.QueryParams = append(r.QueryParams, QueryParamMatch{Name: "animal", Type: HeaderExact, Value: "x"})
		}, rf + ".queryParams[1].name"},
		"too many matches": {func(r *Route) {
			for i := range MaxMatches {
				r.QueryParams = append(r.QueryParams, QueryParamMatch{Name: "q" + strings.Repeat("x", i), Type: HeaderExact, Value: "1"})
			}
		}, rf + ".queryParams"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			vh := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0]
			vh.Routes = []Route{{Path: "/", Match: MatchPrefix, Backend: BackendRef{Name: "ns/web:80"}, Method: "GET",
				QueryParams: []QueryParamMatch{{Name: "animal", Type: HeaderExact, Value: "whale"}}}}
			tc.change(&vh.Routes[0])
			checkField(t, c, tc.field)
		})
	}
}
