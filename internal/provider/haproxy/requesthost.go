package haproxy

import (
	"strconv"

	"ingress-controller/pkg/lbconfig"
)

// badHostBody answers a redirect that reflects the request's host when
// the Host is not one a Location may carry, as the builtin provider's.
const badHostBody = "400 bad request: the Host header cannot be reflected in a redirect"

// locationHostRegex is lbconfig.LocationHost's grammar for txn.host,
// which the frontend has already lower-cased and stripped of a port and
// a trailing dot: labels of 1 to 63 letters, digits and inner '-' joined
// by dots, or hex digits, ':' and '.' in brackets (1 to 45 of them).
// The name's length is checked apart (-m len), before the regex.
const locationHostRegex = `^(([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|[[][0-9a-f:.]{1,45}[]])$`

// txn.host is the whole Host field (req.fhdr, lower-cased, without port
// and trailing dot), so "a.example,evil.example" fails the regex (and the
// comma check, kept as a second guard) and is refused, as the builtin
// provider refuses it, rather than a part of it reflected.
//
// requestHostBase returns the start of the Location of rd, which
// reflects the request's host, on listener l ("<scheme>://<host>[:port]"
// as log-format text), and the rule that answers 400 first when the
// host cannot be reflected, with idMark for the redirect's id.
func requestHostBase(rd *lbconfig.Redirect, l lbconfig.Listener) (base, guard string) {
	before, after := lbconfig.RedirectAround(rd, l.Protocol, l.Port)
	base = locationText(before) + "%[var(txn.host)]" + locationText(after)
	id := "{ var(txn.backend) -m str " + idMark + " }"
	guard = "    http-request return status 400 content-type \"text/plain; charset=utf-8\" string \"" + badHostBody + "\" if " +
		id + " !{ var(txn.host) -m len 1:" + strconv.Itoa(lbconfig.MaxLocationHost) + " } || " +
		id + " !{ var(txn.host) -m reg " + locationHostRegex + " } || " +
		id + " { req.fhdr(host) -m sub , }\n"
	return base, guard
}
