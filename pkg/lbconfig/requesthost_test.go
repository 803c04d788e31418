package lbconfig

import (
	"strings"
	"testing"
)

func TestLocationHost(t *testing.T) {
	long := strings.Repeat("a", 63)
	name253 := strings.Repeat(long+".", 3) + strings.Repeat("b", 61) // 253 bytes
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"a.example.com", "a.example.com", true},
		{"A.Example.COM", "A.Example.COM", true}, // written in lower case
		{"a.example.com:8080", "a.example.com", true},
		{"a.example.com.", "a.example.com", true},
		{"a.example.com.:80", "a.example.com", true},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1:80", "127.0.0.1", true},
		{"[::1]", "[::1]", true},
		{"[::1]:8443", "[::1]", true},
		{"[2001:DB8::1]", "[2001:DB8::1]", true},
		{"[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]", true},
		{"localhost", "localhost", true},
		{name253, name253, true},
		{name253 + "b", "", false},
		{long + "a.example.com", "", false},
		{"", "", false},
		{":80", "", false},
		{".", "", false},
		{"a.example.com:", "", false},
		{"a.example.com:8o", "", false},
		{"a.example.com:80.", "", false},
		{"a..example.com", "", false},
		{".a.example.com", "", false},
		{"a.example.com..", "", false},
		{"-a.example.com", "", false},
		{"a-.example.com", "", false},
		{"a_b.example.com", "", false},
		{"user@a.example.com", "", false},
		{"a.example.com/evil", "", false},
		{"a.example.com\r\nSet-Cookie: x=1", "", false},
		{"a.example.com\n", "", false},
		{"a.example.com\x00", "", false},
		{"a.example.com%0d%0a", "", false},
		{"a b", "", false},
		{"a.example.com,evil.example", "", false},
		{`a.example.com"`, "", false},
		{"a.example.com'", "", false},
		{"évil.example", "", false},
		{"::1", "", false},
		{"[::1", "", false},
		{"[]", "", false},
		{"[::1]x", "", false},
		{"[::1%25eth0]", "", false},
		{"[::1]/x", "", false},
		{"[" + strings.Repeat("1", 46) + "]", "", false},
	} {
		got, ok := LocationHost(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("LocationHost(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzLocationHost(f *testing.F) {
	for _, s := range []string{"a.example.com:80", "[::1]:8080", "A.B.", "a@b", "x\r\ny"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, ok := LocationHost(in)
		if !ok {
			return
		}
		if len(h) > MaxLocationHost {
			t.Fatalf("LocationHost(%q) = %q: longer than %d", in, h, MaxLocationHost)
		}
		if err := checkLocationText("http://" + h + "/"); err != nil {
			t.Fatalf("LocationHost(%q) = %q: not Location text: %v", in, h, err)
		}
		if strings.ContainsAny(h, "@/?#%\\,") || (!strings.HasPrefix(h, "[") && strings.Contains(h, ":")) {
			t.Fatalf("LocationHost(%q) = %q: holds what changes the URL's authority", in, h)
		}
	})
}

func TestValidateRequestHost(t *testing.T) {
	const route = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"
	const wildRoute = "loadBalancers[0].listeners[0].virtualHosts[1].routes[0]"
	for name, tc := range map[string]struct {
		rd    *Redirect
		wild  bool
		field string
	}{
		"status only":       {rd: &Redirect{RequestHost: true, StatusCode: 303}},
		"wild status only":  {rd: &Redirect{RequestHost: true, StatusCode: 303}, wild: true},
		"wild scheme":       {rd: &Redirect{RequestHost: true, Scheme: "https", StatusCode: 302}, wild: true},
		"wild port":         {rd: &Redirect{RequestHost: true, Port: 8083, StatusCode: 302}, wild: true},
		"wild prefix path":  {rd: &Redirect{RequestHost: true, Path: &RedirectPath{Type: ReplaceFullPath, Value: "/x"}, StatusCode: 302}, wild: true},
		"with hostname":     {rd: &Redirect{RequestHost: true, Hostname: "a.example.org", StatusCode: 302}, field: route + ".redirect.requestHost"},
		"with url":          {rd: &Redirect{RequestHost: true, URL: "/a", StatusCode: 302}, field: route + ".redirect"},
		"wild without":      {rd: &Redirect{Scheme: "https", StatusCode: 302}, wild: true, field: wildRoute + ".redirect.hostname"},
		"without, no other": {rd: &Redirect{StatusCode: 302}, field: route + ".redirect"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			vh := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0]
			if tc.wild {
				vh = &c.LoadBalancers[0].Listeners[0].VirtualHosts[1]
			}
			vh.Routes[0].Redirect = tc.rd
			checkField(t, c, tc.field)
		})
	}
}

func TestRedirectAround(t *testing.T) {
	for _, tc := range []struct {
		rd            Redirect
		proto         Protocol
		port          int32
		before, after string
	}{
		{Redirect{}, ProtocolHTTP, 80, "http://", ""},
		{Redirect{}, ProtocolHTTP, 8080, "http://", ":8080"},
		{Redirect{}, ProtocolHTTPS, 443, "https://", ""},
		{Redirect{Scheme: "https"}, ProtocolHTTP, 8080, "https://", ""},
		{Redirect{Scheme: "http"}, ProtocolHTTPS, 8443, "http://", ""},
		{Redirect{Port: 8083}, ProtocolHTTP, 80, "http://", ":8083"},
		{Redirect{Port: 80}, ProtocolHTTP, 8080, "http://", ""},
		{Redirect{Scheme: "https", Port: 443}, ProtocolHTTP, 80, "https://", ""},
	} {
		before, after := RedirectAround(&tc.rd, tc.proto, tc.port)
		if before != tc.before || after != tc.after {
			t.Errorf("RedirectAround(%+v, %s, %d) = %q, %q, want %q, %q", tc.rd, tc.proto, tc.port, before, after, tc.before, tc.after)
		}
	}
	rd := &Redirect{RequestHost: true}
	for vhost, want := range map[string]bool{"": true, "*.example.com": true, "a.example.com": false} {
		if got := rd.ReflectsHost(vhost); got != want {
			t.Errorf("ReflectsHost(%q) = %v, want %v", vhost, got, want)
		}
	}
	if (&Redirect{RequestHost: true, Hostname: "a.example"}).ReflectsHost("") {
		t.Error("a Redirect with a Hostname reflects the request's host")
	}
}
