package route53

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"ingress-controller/internal/dnssync"
)

func TestParseTXT(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []string
	}{
		{`"heritage=ingress-controller,owner=a"`, []string{"heritage=ingress-controller,owner=a"}},
		{`"v=spf1 include:_spf.example.net ~all"`, []string{"v=spf1 include:_spf.example.net ~all"}},
		{`"one" "two"`, []string{"one", "two"}},
		{`"a \"quoted\" word" "back\\slash"`, []string{`a "quoted" word`, `back\slash`}},
		{`"exa\344mple" "tab\011end"`, []string{"exa\xe4mple", "tab\tend"}},
		{`""`, []string{""}},
		{`unquoted`, []string{"unquoted"}},
		{`two words`, []string{"two", "words"}},
		{`"\9"`, []string{"9"}},
	} {
		got, err := parseTXT(tc.value)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseTXT(%s) = %q, %v; want %q", tc.value, got, err, tc.want)
		}
	}
	for _, bad := range []string{``, `"open`, `"ends in \`, `un"quoted`, `"` + strings.Repeat("x", 256) + `"`} {
		if got, err := parseTXT(bad); err == nil {
			t.Errorf("parseTXT(%s) = %q, want an error", bad, got)
		}
	}
}

func TestQuoteTXT(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"heritage=ingress-controller,owner=a", `"heritage=ingress-controller,owner=a"`},
		{`say "hi" \o/`, `"say \"hi\" \\o/"`},
		{"caf\xc3\xa9\n", `"caf\303\251\012"`},
		{"", `""`},
		{strings.Repeat("x", 300), `"` + strings.Repeat("x", 255) + `" "` + strings.Repeat("x", 45) + `"`},
	} {
		if got := quoteTXT(tc.text); got != tc.want {
			t.Errorf("quoteTXT(%q) = %s, want %s", tc.text, got, tc.want)
		}
	}
}

// FuzzTXT checks that a text quoted as Route 53 wants it parses back into
// its strings of at most 255 bytes.
func FuzzTXT(f *testing.F) {
	for _, s := range []string{"", "heritage=ingress-controller,owner=a", `"\`, "\x00\xff", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := parseTXT(quoteTXT(text))
		if err != nil {
			t.Fatalf("parseTXT(quoteTXT(%q)): %v", text, err)
		}
		if strings.Join(got, "") != text || slices.ContainsFunc(got, func(s string) bool { return len(s) > maxTXTString }) {
			t.Fatalf("parseTXT(quoteTXT(%q)) = %q", text, got)
		}
	})
}

func TestUnescapeName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"shop.example.test.", "shop.example.test."},
		{`\052.apps.example.test.`, "*.apps.example.test."},
		{`_ic-owner.\052.example.test.`, "_ic-owner.*.example.test."},
		{`f\374bar.example.test.`, "f\xfcbar.example.test."},
		{`a\056b.example.test.`, `a\056b.example.test.`},
		{`a\134b.example.test.`, `a\134b.example.test.`},
		{`bad\9.example.test.`, `bad\9.example.test.`},
	} {
		if got := unescapeName(tc.name); got != tc.want {
			t.Errorf("unescapeName(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestReadUnquotesAndUnescapes reads what other tools wrote as Route 53
// returns it.
func TestReadUnquotesAndUnescapes(t *testing.T) {
	f := newFake(t, exampleZone())
	f.put(zoneID, fakeSet{name: "*.wild.example.test.", typ: "TXT", ttl: 300, values: []string{
		`"v=spf1 -all"`,
		`"a \"b\"" "c\\d" "exa\344mple"`,
	}})
	f.put(zoneID, fakeSet{name: "*.wild.example.test.", typ: "CNAME", ttl: 300, values: []string{`\052.target.example.net.`}})
	f.put(zoneID, fakeSet{name: "_ic-owner.x.example.test.", typ: "TXT", ttl: 60, values: []string{`"not closed`}})
	b := newBackend(t, f, Options{HostedZoneID: zoneID})
	var got []dnssync.RR
	for _, rr := range mustRead(t, b) {
		if rr.Name != zoneName {
			got = append(got, rr)
		}
	}
	want := []dnssync.RR{
		{Name: "*.wild.example.test.", Type: dnssync.TypeCNAME, TTL: 300, Data: "*.target.example.net."},
		{Name: "*.wild.example.test.", Type: dnssync.TypeTXT, TTL: 300, Text: []string{"v=spf1 -all"}},
		{Name: "*.wild.example.test.", Type: dnssync.TypeTXT, TTL: 300, Text: []string{`a "b"`, `c\d`, "exa\xe4mple"}},
		{Name: "_ic-owner.x.example.test.", Type: dnssync.TypeTXT, TTL: 60, Text: []string{`"not closed`}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %+v\nwant %+v", got, want)
	}
}

// FuzzParseTXT checks that any value parses without a panic, and that the
// strings of one that parses quote back to the same strings.
func FuzzParseTXT(f *testing.F) {
	for _, v := range []string{`"a" "b"`, `"a\"b\\c\344"`, `plain words`, `"open`, `\`, `"\12"`} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, value string) {
		strs, err := parseTXT(value)
		if err != nil {
			return
		}
		var quoted []string
		for _, s := range strs {
			quoted = append(quoted, quoteTXT(s))
		}
		again, err := parseTXT(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, strs) {
			t.Fatalf("parseTXT(%s) = %q, quoted back %s parses to %q, %v", value, strs, strings.Join(quoted, " "), again, err)
		}
	})
}
