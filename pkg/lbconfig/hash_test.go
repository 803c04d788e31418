package lbconfig

import (
	"strings"
	"testing"
)

func TestValidateHash(t *testing.T) {
	key := func(parts ...HashPart) func(*Policy) {
		return func(p *Policy) { p.Hash = &Hash{Key: parts} }
	}
	many := make([]HashPart, MaxHashParts+1)
	for i := range many {
		many[i] = HashPart{Type: HashPath}
	}
	for name, tc := range map[string]struct {
		mutate func(*Policy)
		field  string // "" means valid
	}{
		"client address":   {key(HashPart{Type: HashClientAddress}), ""},
		"every part":       {key(HashPart{Type: HashHeader, Name: "host"}, HashPart{Type: HashRequestURI}, HashPart{Type: HashPath}, HashPart{Type: HashCookie, Name: "Session_ID"}, HashPart{Type: HashLiteral, Name: "a-b.c_~:/@Z9"}), ""},
		"send timeout":     {func(p *Policy) { p.Timeouts.Send = 5 }, ""},
		"send negative":    {func(p *Policy) { p.Timeouts.Send = -1 }, "backends[0].policy.timeouts.send"},
		"no parts":         {key(), "backends[0].policy.hash.key"},
		"too many parts":   {key(many...), "backends[0].policy.hash.key"},
		"with affinity":    {func(p *Policy) { key(HashPart{Type: HashPath})(p); p.Affinity = &Affinity{Type: AffinityBySourceIP} }, "backends[0].policy.hash"},
		"unknown type":     {key(HashPart{Type: "Body"}), "backends[0].policy.hash.key[0]"},
		"name on path":     {key(HashPart{Type: HashPath, Name: "x"}), "backends[0].policy.hash.key[0]"},
		"header empty":     {key(HashPart{Type: HashHeader}), "backends[0].policy.hash.key[0]"},
		"header upper":     {key(HashPart{Type: HashHeader, Name: "X-User"}), "backends[0].policy.hash.key[0]"},
		"header inject":    {key(HashPart{Type: HashPath}, HashPart{Type: HashHeader, Name: "x\r\nevil: 1"}), "backends[0].policy.hash.key[1]"},
		"header huge":      {key(HashPart{Type: HashHeader, Name: strings.Repeat("a", 1<<16)}), "backends[0].policy.hash.key[0]"},
		"cookie semicolon": {key(HashPart{Type: HashCookie, Name: "a;b"}), "backends[0].policy.hash.key[0]"},
		"cookie equals":    {key(HashPart{Type: HashCookie, Name: "a=b"}), "backends[0].policy.hash.key[0]"},
		"literal empty":    {key(HashPart{Type: HashLiteral}), "backends[0].policy.hash.key[0]"},
		"literal comma":    {key(HashPart{Type: HashLiteral, Name: "a,b)"}), "backends[0].policy.hash.key[0]"},
		"literal quote":    {key(HashPart{Type: HashLiteral, Name: "a'b"}), "backends[0].policy.hash.key[0]"},
		"literal utf8":     {key(HashPart{Type: HashLiteral, Name: "é"}), "backends[0].policy.hash.key[0]"},
		"literal long":     {key(HashPart{Type: HashLiteral, Name: strings.Repeat("a", MaxHashLiteralBytes+1)}), "backends[0].policy.hash.key[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c.Backends[0].Policy)
			checkField(t, c, tc.field)
		})
	}
}
