package haproxy

import (
	"fmt"
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// Hash policies (lbconfig.Hash) in a mode http backend: each part of the
// key is read into a variable of its own, the key is their concatenation
// after a constant (so that it is never missing and never falls back to
// round robin, and a missing part reads as empty, as in the builtin
// provider), and "balance hash" with "hash-type consistent" places it on
// HAProxy's ring. A mode tcp backend has no request to read a key from and
// balances by its algorithm. HAProxy's ring and hash differ from the
// builtin provider's: both send a key to one endpoint, not the same one.
// A cookie that a request carries twice counts by its last value here
// (req.cook), by its first in the builtin provider.

// hashVar is the variable of part i of a key; hashKeyVar the key's.
func hashVar(i int) string { return "txn.ic_hash" + strconv.Itoa(i) }

const hashKeyVar = "txn.ic_hash"

// hashLines renders h for a mode http backend. Parts were checked by
// lbconfig.CheckHashPart, whose names and literals need no quoting in a
// sample expression; they are checked again here.
func hashLines(h *lbconfig.Hash) ([]string, error) {
	if len(h.Key) == 0 || len(h.Key) > lbconfig.MaxHashParts {
		return nil, fmt.Errorf("policy.hash.key: must have 1 to %d parts", lbconfig.MaxHashParts)
	}
	var out []string
	key := "str(k)"
	for i, part := range h.Key {
		if err := lbconfig.CheckHashPart(part); err != nil {
			return nil, fmt.Errorf("policy.hash.key[%d]: %w", i, err)
		}
		var fetch string
		switch part.Type {
		case lbconfig.HashClientAddress:
			fetch = "src"
		case lbconfig.HashRequestURI:
			fetch = "pathq"
		case lbconfig.HashPath:
			fetch = "path"
		case lbconfig.HashHeader:
			fetch = "req.fhdr(" + part.Name + ",1)"
		case lbconfig.HashCookie:
			fetch = "req.cook(" + part.Name + ")"
		case lbconfig.HashLiteral:
			fetch = "str(" + part.Name + ")"
		}
		out = append(out, "http-request set-var("+hashVar(i)+") "+fetch)
		key += ",concat(|," + hashVar(i) + ",)"
	}
	return append(out, "http-request set-var("+hashKeyVar+") "+key, "balance hash var("+hashKeyVar+")", "hash-type consistent"), nil
}

// balancesByHash reports whether a backend of policy p in this mode
// renders its own balance line (hashLines).
func balancesByHash(p lbconfig.Policy, tcp bool) bool { return p.Hash != nil && !tcp }
