package lbconfig

import (
	"strings"
	"testing"
)

const routeField = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0]"

func TestValidateHeaderModifiers(t *testing.T) {
	long := strings.Repeat("a", MaxHeaderValueBytes+1)
	many := &HeaderModifier{}
	for i := range MaxHeaderChanges + 1 {
		many.Remove = append(many.Remove, "X-H"+strings.Repeat("x", i))
	}
	for name, tc := range map[string]struct {
		req, res *HeaderModifier
		field    string
	}{
		"set add remove":        {&HeaderModifier{Set: []Header{{"X-A", "1"}}, Add: []Header{{"X-B", "two words"}}, Remove: []string{"Cookie"}}, &HeaderModifier{Set: []Header{{"Cache-Control", "no-store"}}}, ""},
		"upstream host":         {&HeaderModifier{Set: []Header{{"Host", "internal.example.com:8080"}}}, nil, ""},
		"upstream host v4":      {&HeaderModifier{Set: []Header{{"host", "10.0.0.1"}}}, nil, ""},
		"upstream host v6":      {&HeaderModifier{Set: []Header{{"Host", "[2001:db8::1]:80"}}}, nil, ""},
		"x-forwarded-prefix":    {&HeaderModifier{Set: []Header{{"X-Forwarded-Prefix", "/api"}}}, nil, ""},
		"utf-8 value":           {&HeaderModifier{Set: []Header{{"X-A", "héllo"}}}, nil, ""},
		"tab inside":            {&HeaderModifier{Set: []Header{{"X-A", "a\tb"}}}, nil, ""},
		"empty value":           {&HeaderModifier{Set: []Header{{"X-A", ""}}}, nil, ""},
		"empty":                 {&HeaderModifier{}, nil, routeField + ".requestHeaders"},
		"CRLF injection":        {&HeaderModifier{Set: []Header{{"X-A", "1\r\nX-Evil: 1"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"LF":                    {nil, &HeaderModifier{Add: []Header{{"X-A", "1\nb"}}}, routeField + ".responseHeaders.add[0].value"},
		"not UTF-8":             {&HeaderModifier{Set: []Header{{"X-A", "caf\xe9"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"NUL":                   {&HeaderModifier{Set: []Header{{"X-A", "a\x00"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"DEL":                   {&HeaderModifier{Set: []Header{{"X-A", "a\x7f"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"trailing space":        {&HeaderModifier{Set: []Header{{"X-A", "a "}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"long value":            {&HeaderModifier{Set: []Header{{"X-A", long}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"name with colon":       {&HeaderModifier{Set: []Header{{"X-A:", "1"}}}, nil, routeField + ".requestHeaders.set[0].name"},
		"name with space":       {&HeaderModifier{Remove: []string{"X A"}}, nil, routeField + ".requestHeaders.remove[0].name"},
		"name with CRLF":        {nil, &HeaderModifier{Remove: []string{"X\r\nA"}}, routeField + ".responseHeaders.remove[0].name"},
		"empty name":            {&HeaderModifier{Add: []Header{{"", "1"}}}, nil, routeField + ".requestHeaders.add[0].name"},
		"long name":             {&HeaderModifier{Add: []Header{{strings.Repeat("x", MaxHeaderNameBytes+1), "1"}}}, nil, routeField + ".requestHeaders.add[0].name"},
		"too many":              {many, nil, routeField + ".requestHeaders"},
		"twice":                 {&HeaderModifier{Set: []Header{{"X-A", "1"}}, Remove: []string{"x-a"}}, nil, routeField + ".requestHeaders.remove[0].name"},
		"content-length":        {nil, &HeaderModifier{Set: []Header{{"Content-Length", "0"}}}, routeField + ".responseHeaders.set[0].name"},
		"transfer-encoding":     {&HeaderModifier{Add: []Header{{"Transfer-Encoding", "chunked"}}}, nil, routeField + ".requestHeaders.add[0].name"},
		"connection":            {&HeaderModifier{Remove: []string{"Connection"}}, nil, routeField + ".requestHeaders.remove[0].name"},
		"upgrade":               {nil, &HeaderModifier{Set: []Header{{"Upgrade", "websocket"}}}, routeField + ".responseHeaders.set[0].name"},
		"te":                    {&HeaderModifier{Set: []Header{{"TE", "trailers"}}}, nil, routeField + ".requestHeaders.set[0].name"},
		"x-forwarded-for":       {&HeaderModifier{Set: []Header{{"X-Forwarded-For", "1.2.3.4"}}}, nil, routeField + ".requestHeaders.set[0].name"},
		"x-real-ip removed":     {&HeaderModifier{Remove: []string{"X-Real-IP"}}, nil, routeField + ".requestHeaders.remove[0].name"},
		"x-forwarded on answer": {nil, &HeaderModifier{Set: []Header{{"X-Forwarded-For", "1"}}}, ""},
		"host added":            {&HeaderModifier{Add: []Header{{"Host", "a.example.com"}}}, nil, routeField + ".requestHeaders.add[0].name"},
		"host removed":          {&HeaderModifier{Remove: []string{"Host"}}, nil, routeField + ".requestHeaders.remove[0]"},
		"host on response":      {nil, &HeaderModifier{Set: []Header{{"Host", "a.example.com"}}}, routeField + ".responseHeaders.set[0].name"},
		"host with path":        {&HeaderModifier{Set: []Header{{"Host", "a.example.com/x"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"host with bad port":    {&HeaderModifier{Set: []Header{{"Host", "a.example.com:0"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"host port not number":  {&HeaderModifier{Set: []Header{{"Host", "a.example.com:+80"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"host upper case":       {&HeaderModifier{Set: []Header{{"Host", "A.example.com"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"host wildcard":         {&HeaderModifier{Set: []Header{{"Host", "*.example.com"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"host empty":            {&HeaderModifier{Set: []Header{{"Host", ""}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"host v6 bare":          {&HeaderModifier{Set: []Header{{"Host", "2001:db8::1"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"host v6 zone":          {&HeaderModifier{Set: []Header{{"Host", "[fe80::1%eth0]"}}}, nil, routeField + ".requestHeaders.set[0].value"},
		"host CRLF":             {&HeaderModifier{Set: []Header{{"Host", "a.example.com\r\nX: 1"}}}, nil, routeField + ".requestHeaders.set[0].value"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			rt := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0]
			rt.RequestHeaders, rt.ResponseHeaders = tc.req, tc.res
			checkField(t, c, tc.field)
		})
	}
}

func TestValidateCORS(t *testing.T) {
	var many []string
	for i := range MaxCORSOrigins + 1 {
		many = append(many, "https://a"+strings.Repeat("a", i)+".example.com")
	}
	f := routeField + ".cors"
	for name, tc := range map[string]struct {
		cors  *CORS
		field string
	}{
		"any":              {&CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET"}, AllowHeaders: []string{"*"}, MaxAge: 600}, ""},
		"list":             {&CORS{AllowOrigins: []string{"http://localhost:3000", "https://*.example.com", "https://a.example.org"}, AllowCredentials: true}, ""},
		"v4 and v6":        {&CORS{AllowOrigins: []string{"http://10.0.0.1:8080", "http://[2001:db8::1]"}}, ""},
		"none":             {&CORS{}, ""}, // allows no origin
		"star and more":    {&CORS{AllowOrigins: []string{"*", "https://a.example.com"}}, f + ".allowOrigins"},
		"too many":         {&CORS{AllowOrigins: many}, f + ".allowOrigins"},
		"null":             {&CORS{AllowOrigins: []string{"null"}}, f + ".allowOrigins[0]"},
		"no scheme":        {&CORS{AllowOrigins: []string{"a.example.com"}}, f + ".allowOrigins[0]"},
		"ftp":              {&CORS{AllowOrigins: []string{"ftp://a.example.com"}}, f + ".allowOrigins[0]"},
		"upper scheme":     {&CORS{AllowOrigins: []string{"HTTPS://a.example.com"}}, f + ".allowOrigins[0]"},
		"path":             {&CORS{AllowOrigins: []string{"https://a.example.com/"}}, f + ".allowOrigins[0]"},
		"inner wildcard":   {&CORS{AllowOrigins: []string{"https://a.*.example.com"}}, f + ".allowOrigins[0]"},
		"two wildcards":    {&CORS{AllowOrigins: []string{"https://*.*.example.com"}}, f + ".allowOrigins[0]"},
		"bare wildcard":    {&CORS{AllowOrigins: []string{"https://*"}}, f + ".allowOrigins[0]"},
		"scheme wildcard":  {&CORS{AllowOrigins: []string{"http*://a.example.com"}}, f + ".allowOrigins[0]"},
		"CRLF":             {&CORS{AllowOrigins: []string{"https://a.example.com\r\nX: 1"}}, f + ".allowOrigins[0]"},
		"unsorted":         {&CORS{AllowOrigins: []string{"https://b.example.com", "https://a.example.com"}}, f + ".allowOrigins[1]"},
		"bad port":         {&CORS{AllowOrigins: []string{"https://a.example.com:99999"}}, f + ".allowOrigins[0]"},
		"method with CRLF": {&CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET\r\n"}}, f + ".allowMethods[0]"},
		"method star":      {&CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}}, ""},
		"header comma":     {&CORS{AllowOrigins: []string{"*"}, AllowHeaders: []string{"A,B"}}, f + ".allowHeaders[0]"},
		"expose space":     {&CORS{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"A B"}}, f + ".exposeHeaders[0]"},
		"negative max age": {&CORS{AllowOrigins: []string{"*"}, MaxAge: -1}, f + ".maxAge"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].CORS = tc.cors
			checkField(t, c, tc.field)
		})
	}
}

func TestCORSAllows(t *testing.T) {
	list := &CORS{AllowOrigins: []string{"http://localhost:3000", "https://*.example.com", "https://a.example.org"}}
	for _, tc := range []struct {
		cors   *CORS
		origin string
		want   bool
	}{
		{&CORS{AllowOrigins: []string{"*"}}, "null", true},
		{&CORS{AllowOrigins: []string{"*"}}, "https://anything", true},
		{list, "https://a.example.org", true},
		{list, "HTTPS://A.EXAMPLE.ORG", true},
		{list, "https://a.example.org:443", false},
		{list, "http://a.example.org", false},
		{list, "https://a.example.org.evil.com", false},
		{list, "https://evil.com/https://a.example.org", false},
		{list, "xhttps://a.example.org", false},
		{list, "http://localhost:3000", true},
		{list, "http://localhost:30000", false},
		{list, "https://app.example.com", true},
		{list, "https://App-1.Example.com", true},
		{list, "https://example.com", false},
		{list, "https://.example.com", false},
		{list, "https://a.b.example.com", false},
		{list, "https://evil.com?.example.com", false},
		{list, "https://evil.com#.example.com", false},
		{list, "https://evil_com.example.com", false},
		{list, "https://a%2eexample.com.example.com", false},
		{list, "https://" + strings.Repeat("a", 64) + ".example.com", false},
		{list, "https://" + strings.Repeat("a", 63) + ".example.com", true},
		{list, "https://a.example.com:8443", false},
		{list, "null", false},
		{list, "", false},
		{list, "https://a.example.org, https://evil.com", false},
		{list, "https://\u0430.example.com", false},                                                   // Cyrillic a
		{&CORS{AllowOrigins: []string{"https://k.example.com"}}, "https://\u212a.example.com", false}, // Kelvin sign
		{&CORS{AllowOrigins: []string{"https://s.example.com"}}, "http\u017f://s.example.com", false}, // long s
		{&CORS{AllowOrigins: []string{"https://*.example.com"}}, "https://\u212a.example.com", false},
		{list, "https://app.example.com" + strings.Repeat(" ", 1<<16), false},
	} {
		if got := tc.cors.Allows(tc.origin); got != tc.want {
			t.Errorf("%v.Allows(%q) = %v, want %v", tc.cors.AllowOrigins, clipOrigin(tc.origin), got, tc.want)
		}
	}
}

func clipOrigin(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func TestCORSAllowsAllocatesNothing(t *testing.T) {
	c := &CORS{AllowOrigins: []string{"https://*.example.com", "https://a.example.org"}}
	if n := testing.AllocsPerRun(100, func() { c.Allows("https://App.example.com") }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

func TestSortHeaders(t *testing.T) {
	c := validConfig()
	rt := &c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0]
	rt.RequestHeaders = &HeaderModifier{Set: []Header{{"X-B", "2"}, {"x-a", "1"}}, Remove: []string{"Z", "Cookie"}}
	rt.CORS = &CORS{AllowOrigins: []string{"https://b.example.com", "https://a.example.com", "https://b.example.com"}}
	c.Sort()
	found := false
	for _, vh := range c.LoadBalancers[0].Listeners[0].VirtualHosts {
		if vh.Hostname != "foo.example.com" {
			continue
		}
		found = true
		rt := vh.Routes[0]
		if got := rt.RequestHeaders.Set[0].Name + "," + rt.RequestHeaders.Remove[0]; got != "x-a,Cookie" {
			t.Errorf("sorted = %s", got)
		}
		if got := strings.Join(rt.CORS.AllowOrigins, " "); got != "https://a.example.com https://b.example.com" {
			t.Errorf("origins = %s", got)
		}
	}
	if !found {
		t.Fatal("no virtual host foo.example.com")
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() after Sort = %v", err)
	}
}
