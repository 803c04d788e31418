package lbconfig

import (
	"encoding/json"
	"strings"
	"testing"
)

// Hashes of "s3cret" made by htpasswd (apache2-utils) and openssl passwd.
const (
	testBcrypt = "$2y$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm"
	testAPR1   = "$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw."
	testMD5    = "$1$Jts9GFdp$affxqbidfwI07xO7LfBjR/"
	testSHA256 = "$5$bPT2VqnzPN/tvdPc$iNCqR3LN0stzZMAg3X81/NmTwXw3Ci925EMUj5BOF34"
	testSHA512 = "$6$Wr5jba/42dNyFThc$JyVlwtSz/fH6EzwZXPXR//LhlQzq4xrlQnzqUqYG3baJrEU95qcGEZ4AlTrqL/tqqezAY45X3SenuC44A3Dce1"
	testSHA1   = "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg="
)

func TestHashFormatOf(t *testing.T) {
	for _, tc := range []struct {
		hash string
		want HashFormat // "" means refused
	}{
		{testBcrypt, HashBcrypt},
		{strings.Replace(testBcrypt, "$2y$", "$2a$", 1), HashBcrypt},
		{strings.Replace(testBcrypt, "$2y$", "$2b$", 1), HashBcrypt},
		{strings.Replace(testBcrypt, "$05$", "$12$", 1), HashBcrypt},
		{strings.Replace(testBcrypt, "$05$", "$13$", 1), ""}, // cost above the limit
		{strings.Replace(testBcrypt, "$05$", "$31$", 1), ""},
		{strings.Replace(testBcrypt, "$05$", "$03$", 1), ""},
		{strings.Replace(testBcrypt, "$05$", "$+5$", 1), ""},
		{strings.Replace(testBcrypt, "$2y$", "$2x$", 1), ""},
		{testBcrypt[:59], ""},
		{testBcrypt[:59] + "!", ""},
		{testAPR1, HashAPR1},
		{"$apr1$$TG8lUK7RX2o7F4TqVz0Fw.", ""},            // no salt
		{"$apr1$CT7MCO5G123$TG8lUK7RX2o7F4TqVz0Fw.", ""}, // salt too long
		{"$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw", ""},     // short
		{"$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw.\n", ""},  // trailing newline
		{testMD5, HashMD5Crypt},
		{testSHA256, HashSHA256Crypt},
		{testSHA512, HashSHA512Crypt},
		{"$5$rounds=20000$bPT2VqnzPN/tvdPc$iNCqR3LN0stzZMAg3X81/NmTwXw3Ci925EMUj5BOF34", HashSHA256Crypt},
		{"$5$rounds=20001$bPT2VqnzPN/tvdPc$iNCqR3LN0stzZMAg3X81/NmTwXw3Ci925EMUj5BOF34", ""},
		{"$6$rounds=999999999$Wr5jba/42dNyFThc$JyVlwtSz/fH6EzwZXPXR//LhlQzq4xrlQnzqUqYG3baJrEU95qcGEZ4AlTrqL/tqqezAY45X3SenuC44A3Dce1", ""},
		{"$5$rounds=-1$bPT2VqnzPN/tvdPc$iNCqR3LN0stzZMAg3X81/NmTwXw3Ci925EMUj5BOF34", ""},
		{"$5$rounds=$bPT2VqnzPN/tvdPc$iNCqR3LN0stzZMAg3X81/NmTwXw3Ci925EMUj5BOF34", ""},
		{testSHA1, HashSHA1},
		{"{SHA}AAAA", ""},
		{"vUY.6Aps5UZ1Y", ""}, // DES crypt
		{"s3cret", ""},        // plain text
		{"", ""},
		{"$2y$" + strings.Repeat("a", 1<<20), ""},
	} {
		got, err := HashFormatOf(tc.hash)
		if tc.want == "" {
			if err == nil {
				t.Errorf("HashFormatOf(%.40q) = %q, nil; want an error", tc.hash, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("HashFormatOf(%.40q) = %q, %v; want %q", tc.hash, got, err, tc.want)
		}
	}
}

func TestHashFormatErrorHidesHash(t *testing.T) {
	for _, h := range []string{testBcrypt[:59], "$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0F", "plainpassword"} {
		if _, err := HashFormatOf(h); err == nil || strings.Contains(err.Error(), h[len(h)/2:]) {
			t.Errorf("HashFormatOf(%q) = %v: want an error that does not quote the hash", h, err)
		}
	}
}

func TestCheckUserNameAndRealm(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"Zoë", true}, {"a b@c", true}, {strings.Repeat("a", MaxUserNameLength), true},
		{"", false}, {"a:b", false}, {"a\nb", false}, {"a\rb", false}, {"a\x00", false}, {"a\x7f", false},
		{"a\u0085", false}, {"\xff", false}, {strings.Repeat("a", MaxUserNameLength+1), false},
	} {
		if err := CheckUserName(tc.name); (err == nil) != tc.ok {
			t.Errorf("CheckUserName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		realm string
		ok    bool
	}{
		{"", false}, {"Authentication Required - foo", true}, {"a.b_c~d:e/f", true},
		{`a"b`, false}, {`a\b`, false}, {"a\r\nWWW-Authenticate: x", false}, {"a$b", false}, {"a#b", false},
		{"Zoë", false}, {strings.Repeat("a", MaxRealmLength+1), false},
	} {
		if err := CheckRealm(tc.realm); (err == nil) != tc.ok {
			t.Errorf("CheckRealm(%q) = %v, want ok %v", tc.realm, err, tc.ok)
		}
	}
}

// withBasicAuth is validConfig with basic authentication on its first route.
func withBasicAuth(users ...User) *Config {
	c := validConfig()
	c.Credentials = []Credentials{{Name: "default/auth", Users: users}}
	c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].BasicAuth = &BasicAuth{Realm: "r", Credentials: "default/auth"}
	return c
}

func TestValidateBasicAuth(t *testing.T) {
	const route = "loadBalancers[0].listeners[0].virtualHosts[0].routes[0].basicAuth"
	many := make([]User, MaxUsers+1)
	for i := range many {
		many[i] = User{Name: "u", Hash: testAPR1} // only the count is checked then
	}
	for name, tc := range map[string]struct {
		edit  func(*Config)
		field string // "" means valid
	}{
		"valid":        {func(*Config) {}, ""},
		"no realm":     {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].BasicAuth.Realm = "" }, route + ".realm"},
		"bad realm":    {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].BasicAuth.Realm = "a\"b" }, route + ".realm"},
		"missing":      {func(c *Config) { c.Credentials = nil }, route + ".credentials"},
		"no users":     {func(c *Config) { c.Credentials[0].Users = nil }, "credentials[0].users"},
		"too many":     {func(c *Config) { c.Credentials[0].Users = many }, "credentials[0].users"},
		"unsorted":     {func(c *Config) { c.Credentials[0].Users[0].Name = "zed" }, "credentials[0].users[1].name"},
		"duplicate":    {func(c *Config) { c.Credentials[0].Users[1].Name = "alice" }, "credentials[0].users[1].name"},
		"colon":        {func(c *Config) { c.Credentials[0].Users[0].Name = "a:b" }, "credentials[0].users[0].name"},
		"bad hash":     {func(c *Config) { c.Credentials[0].Users[0].Hash = "s3cret" }, "credentials[0].users[0].hash"},
		"no name":      {func(c *Config) { c.Credentials[0].Name = "" }, "credentials[0].name"},
		"twice":        {func(c *Config) { c.Credentials = append(c.Credentials, c.Credentials[0]) }, "credentials[1].name"},
		"costly hash":  {func(c *Config) { c.Credentials[0].Users[0].Hash = strings.Replace(testBcrypt, "$05$", "$31$", 1) }, "credentials[0].users[0].hash"},
		"unused creds": {func(c *Config) { c.LoadBalancers[0].Listeners[0].VirtualHosts[0].Routes[0].BasicAuth = nil }, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c := withBasicAuth(User{Name: "alice", Hash: testAPR1}, User{Name: "bob", Hash: testBcrypt})
			tc.edit(c)
			checkField(t, c, tc.field)
		})
	}
}

func TestCredentialsNeverSerializeHashes(t *testing.T) {
	c := withBasicAuth(User{Name: "alice", Hash: testAPR1})
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "CT7MCO5G") || strings.Contains(string(b), "apr1") {
		t.Errorf("JSON holds the hash: %s", b)
	}
	if !strings.Contains(string(b), `"users":[{"name":"alice"}]`) {
		t.Errorf("JSON lacks the user: %s", b)
	}
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "CT7MCO5G") {
		t.Errorf("Validate quotes a hash: %v", err)
	}
}

func TestSortSelectDiffCredentials(t *testing.T) {
	c := withBasicAuth(User{Name: "bob", Hash: testBcrypt}, User{Name: "alice", Hash: testAPR1})
	c.Credentials = append(c.Credentials, Credentials{Name: "a/other", Users: []User{{Name: "x", Hash: testSHA1}}})
	c.Sort()
	if c.Credentials[0].Name != "a/other" || c.Credentials[1].Users[0].Name != "alice" {
		t.Fatalf("Sort left credentials %+v", c.Credentials)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() after Sort = %v", err)
	}
	sel := c.Select(func(LoadBalancer) bool { return true })
	if len(sel.Credentials) != 1 || sel.Credentials[0].Name != "default/auth" {
		t.Errorf("Select kept credentials %+v, want default/auth only", sel.Credentials)
	}
	if len(c.Select(func(LoadBalancer) bool { return false }).Credentials) != 0 {
		t.Errorf("Select of no load balancer kept credentials")
	}
	changed := withBasicAuth(User{Name: "alice", Hash: testAPR1}, User{Name: "bob", Hash: testBcrypt})
	changed.Sort()
	same := withBasicAuth(User{Name: "alice", Hash: testAPR1}, User{Name: "bob", Hash: testBcrypt})
	same.Sort()
	if ch := Diff(changed, same); !ch.Empty() {
		t.Errorf("Diff of equal configs = %+v", ch)
	}
	// Only the hash changes: invisible in JSON, still a change.
	same.Credentials[0].Users[0].Hash = testMD5
	if ch := Diff(changed, same); !ch.Structure {
		t.Errorf("Diff with a changed hash = %+v, want a structural change", ch)
	}
}
