package lbconfig

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateExternalAuth(t *testing.T) {
	const f = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].externalAuth"
	ok := func() *ExternalAuth {
		return &ExternalAuth{URL: "http://auth.example.com:8080/check?x=1", ResponseHeaders: []string{"X-Auth-Email", "X-Auth-User"}}
	}
	many := make([]string, MaxAuthResponseHeaders+1)
	for i := range many {
		many[i] = "X-H" + strings.Repeat("a", i)
	}
	slices.Sort(many)
	for name, tc := range map[string]struct {
		edit  func(*ExternalAuth)
		field string // "" means valid
	}{
		"plain":               {func(*ExternalAuth) {}, ""},
		"https ip":            {func(a *ExternalAuth) { a.URL = "https://10.0.0.1/auth" }, ""},
		"ipv6":                {func(a *ExternalAuth) { a.URL = "http://[::1]:9000/auth" }, ""},
		"signin":              {func(a *ExternalAuth) { a.SigninURL, a.RedirectParam = "https://login.example.com/start", "next" }, ""},
		"post":                {func(a *ExternalAuth) { a.Method = "POST" }, ""},
		"timeout":             {func(a *ExternalAuth) { a.Timeout = Duration(time.Second) }, ""},
		"request redirect":    {func(a *ExternalAuth) { a.RequestRedirect = "https://app.example.com/" }, ""},
		"relative url":        {func(a *ExternalAuth) { a.URL = "/auth" }, f + ".url"},
		"empty url":           {func(a *ExternalAuth) { a.URL = "" }, f + ".url"},
		"ftp url":             {func(a *ExternalAuth) { a.URL = "ftp://auth/x" }, f + ".url"},
		"user in url":         {func(a *ExternalAuth) { a.URL = "http://u:p@auth/x" }, f + ".url"},
		"crlf in url":         {func(a *ExternalAuth) { a.URL = "http://auth/x\r\nX-Evil: 1" }, f + ".url"},
		"space in url":        {func(a *ExternalAuth) { a.URL = "http://auth/x y" }, f + ".url"},
		"fragment":            {func(a *ExternalAuth) { a.URL = "http://auth/x#y" }, f + ".url"},
		"bad port":            {func(a *ExternalAuth) { a.URL = "http://auth:99999/x" }, f + ".url"},
		"long url":            {func(a *ExternalAuth) { a.URL = "http://auth/" + strings.Repeat("a", MaxRedirectURL) }, f + ".url"},
		"method lower":        {func(a *ExternalAuth) { a.Method = "get" }, f + ".method"},
		"method connect":      {func(a *ExternalAuth) { a.Method = "CONNECT" }, f + ".method"},
		"method crlf":         {func(a *ExternalAuth) { a.Method = "GET\r\n" }, f + ".method"},
		"signin relative":     {func(a *ExternalAuth) { a.SigninURL = "/login" }, f + ".signinURL"},
		"signin crlf":         {func(a *ExternalAuth) { a.SigninURL = "http://l/\r\nSet-Cookie: a" }, f + ".signinURL"},
		"param bad":           {func(a *ExternalAuth) { a.RedirectParam = "a=b" }, f + ".redirectParam"},
		"param long":          {func(a *ExternalAuth) { a.RedirectParam = strings.Repeat("p", 65) }, f + ".redirectParam"},
		"request redirect lf": {func(a *ExternalAuth) { a.RequestRedirect = "/a\nb" }, f + ".requestRedirect"},
		"header crlf":         {func(a *ExternalAuth) { a.ResponseHeaders = []string{"X-A\r\nB"} }, f + ".responseHeaders[0]"},
		"header framing":      {func(a *ExternalAuth) { a.ResponseHeaders = []string{"Content-Length"} }, f + ".responseHeaders[0]"},
		"header hop":          {func(a *ExternalAuth) { a.ResponseHeaders = []string{"Connection"} }, f + ".responseHeaders[0]"},
		"header host":         {func(a *ExternalAuth) { a.ResponseHeaders = []string{"Host"} }, f + ".responseHeaders[0]"},
		"header ours":         {func(a *ExternalAuth) { a.ResponseHeaders = []string{"X-Forwarded-For"} }, f + ".responseHeaders[0]"},
		"header lower":        {func(a *ExternalAuth) { a.ResponseHeaders = []string{"x-auth-user"} }, f + ".responseHeaders[0]"},
		"header twice":        {func(a *ExternalAuth) { a.ResponseHeaders = []string{"X-A", "X-A"} }, f + ".responseHeaders[1]"},
		"header unsorted":     {func(a *ExternalAuth) { a.ResponseHeaders = []string{"X-B", "X-A"} }, f + ".responseHeaders[1]"},
		"too many headers":    {func(a *ExternalAuth) { a.ResponseHeaders = many }, f + ".responseHeaders"},
		"negative timeout":    {func(a *ExternalAuth) { a.Timeout = -1 }, f + ".timeout"},
		"huge timeout":        {func(a *ExternalAuth) { a.Timeout = Duration(time.Hour) }, f + ".timeout"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			a := ok()
			tc.edit(a)
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].ExternalAuth = a
			checkField(t, c, tc.field)
		})
	}
}

func TestSortCanonicalizesExternalAuth(t *testing.T) {
	c := validConfig()
	a := &ExternalAuth{URL: "http://auth/x", ResponseHeaders: []string{"x-b", "X-A", "X-B", "x-a"}}
	c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].ExternalAuth = a
	c.Sort()
	if want := []string{"X-A", "X-B"}; !slices.Equal(a.ResponseHeaders, want) {
		t.Errorf("ResponseHeaders = %q, want %q", a.ResponseHeaders, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() after Sort = %v", err)
	}
}

func TestAuthURLParts(t *testing.T) {
	for u, want := range map[string]struct {
		https            bool
		hostHeader, host string
		port             int
		target           string
	}{
		"http://auth.example.com/check":     {false, "auth.example.com", "auth.example.com", 80, "/check"},
		"https://auth.example.com":          {true, "auth.example.com", "auth.example.com", 443, "/"},
		"http://[::1]:9000/a%20b?x=1&y=%2F": {false, "[::1]:9000", "::1", 9000, "/a%20b?x=1&y=%2F"},
	} {
		https, hh, h, port, target, err := AuthURLParts(u)
		if err != nil || https != want.https || hh != want.hostHeader || h != want.host || port != want.port || target != want.target {
			t.Errorf("AuthURLParts(%q) = %v %q %q %d %q %v, want %v", u, https, hh, h, port, target, err, want)
		}
	}
}

func TestSigninHasParam(t *testing.T) {
	a := &ExternalAuth{SigninURL: "https://l/start?rd=https://x/"}
	if !a.SigninHasParam() {
		t.Error("rd= in the sign-in URL not seen")
	}
	a.RedirectParam = "next"
	if a.SigninHasParam() {
		t.Error("next= seen where the URL has rd=")
	}
}

func TestCheckSigninURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://login.example.com/start":                      true,
		"https://$host/oauth2/start?rd=$escaped_request_uri":   true,
		"$scheme://$http_host/oauth2/start?rd=$request_uri":    true,
		"https://l/start?rd=$scheme://$host$request_uri":       true,
		"https://$hostname/start":                              false,
		"https://l/start?rd=$arg_rd":                           false,
		"https://l/$":                                          false,
		"https://$host\r\n/start":                              false,
		"/start?rd=$escaped_request_uri":                       false,
		"https://$host/start?rd=$escaped_request_uri#fragment": false,
	} {
		if err := CheckSigninURL(u); (err == nil) != ok {
			t.Errorf("CheckSigninURL(%q) = %v, want ok %v", u, err, ok)
		}
	}
}

func TestExpandSignin(t *testing.T) {
	r := SigninRequest{Scheme: "http", Host: "app.example.com", HostPort: "App.example.com:8080", RequestURI: "/a b?x=1&y=é"}
	for u, want := range map[string]string{
		"https://l/start": "https://l/start",
		"$scheme://$host/s?rd=$escaped_request_uri":      "http://app.example.com/s?rd=%2Fa%20b%3Fx%3D1%26y%3D%C3%A9",
		"https://$http_host$request_uri":                 "https://App.example.com:8080/a b?x=1&y=é",
		"https://l/?a=$hostx&b=$$host":                   "https://l/?a=$hostx&b=$app.example.com",
		"https://l/?rd=$escaped_request_uri$request_uri": "https://l/?rd=%2Fa%20b%3Fx%3D1%26y%3D%C3%A9/a b?x=1&y=é",
	} {
		if got := ExpandSignin(u, r); got != want {
			t.Errorf("ExpandSignin(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestCheckSigninHost(t *testing.T) {
	for _, tc := range []struct {
		host, hostPort string
		ok             bool
	}{
		{"app.example.com", "app.example.com", true},
		{"app.example.com", "App.Example.COM:8443", true},
		{"10.0.0.1", "10.0.0.1:80", true},
		{"[::1]", "[::1]:8080", true},
		{"evil.example/x", "evil.example/x", false},
		{"a b", "a b", false},
		{"", "", false},
		{"*.example.com", "*.example.com", false},
		{"app.example.com", "app.example.com:", false},
		{"app.example.com", "app.example.com:80:80", false},
		{"app.example.com", "app.example.com:1234567", false},
		{"app.example.com", "other.example.com", false},
	} {
		if err := CheckSigninHost(tc.host, tc.hostPort); (err == nil) != tc.ok {
			t.Errorf("CheckSigninHost(%q, %q) = %v, want ok %v", tc.host, tc.hostPort, err, tc.ok)
		}
	}
}

func TestValidateAuthBackend(t *testing.T) {
	const f = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].externalAuth"
	for name, tc := range map[string]struct {
		url     string
		backend string
		field   string // "" means valid
	}{
		"service":         {"http://auth.sso.svc.cluster.local:4180/oauth2/auth", "sso/auth:4180", ""},
		"missing backend": {"http://auth.sso.svc:4180/", "sso/other:4180", f + ".backend"},
		"empty name":      {"http://auth.sso.svc:4180/", "", f + ".backend"},
		"https":           {"https://auth.sso.svc/", "sso/auth:4180", f + ".backend"},
		"https upper":     {"HTTPS://auth.sso.svc/", "sso/auth:4180", f + ".backend"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := validConfig()
			cfg.Backends = append(cfg.Backends, Backend{Name: "sso/auth:4180"})
			cfg.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].ExternalAuth = &ExternalAuth{URL: tc.url, Backend: &BackendRef{Name: tc.backend}}
			slices.SortFunc(cfg.Backends, func(a, b Backend) int { return strings.Compare(a.Name, b.Name) })
			checkField(t, cfg, tc.field)
		})
	}
}
