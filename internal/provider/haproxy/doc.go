// Package haproxy is the provider that drives a real HAProxy.
//
// # Theory of operation
//
// RenderConfig turns an lbconfig.Config into haproxy.cfg plus map files.
// One frontend per listener port routes with map lookups, so thousands of
// routes cost a tree lookup, not a list of ACLs: the normalized Host picks a
// virtual host id from an exact-host map, else (after dropping its first
// label) from a wildcard map, else (multi-label wildcards, wildcard.go)
// from a map_end map, else the catch-all; then "<vhost>:<path>" is
// looked up in an exact-path map and, failing that, "<vhost>:<path>/" in a
// longest-prefix map (map_beg) whose keys end in "/", which is exactly the
// element-wise prefix match of lbconfig. Nothing matched goes to the
// listener's default backend, else 404. User values reach only the map
// files, checked; backend names become sanitized identifiers with a hash.
//
// TLS passthrough: a port with passthrough virtual hosts is a mode tcp
// frontend that waits (tcp-request inspect-delay, 10s as builtin) for the
// ClientHello and looks its server name up, lower-cased and without a
// trailing dot, in an exact map and then the wildcard maps, like
// Host; the catch-all comes last. A passthrough host's connection goes to
// the mode tcp backend of its lbconfig backend as it is. On an HTTPS port
// everything else (a terminated host, no SNI, not TLS) goes over a unix
// socket in the runtime directory, with a PROXY v2 header, to an internal
// frontend that terminates TLS and routes HTTP as usual, so X-Forwarded-For
// still names the client. On a TLS passthrough port what is not TLS is
// closed; a name whose virtual host terminates TLS for a TCP backend goes
// the same way to a frontend of that virtual host alone, which terminates
// with its certificate and forwards the bytes to its mode tcp backend
// (tlsterminate.go); other names go to the listener's TCP backend, else
// are closed.
//
// An lbconfig backend is rendered as a mode http HAProxy backend (be_...)
// for HTTP routes and a mode tcp one (bt_...) for TCP listeners and
// passthrough; one used by both gets both, sharing one slot layout, and
// the runtime API changes both. A mode tcp backend forwards bytes, so the
// backend protocol (HTTPS, h2c) and cookie affinity apply to the mode http
// one only.
//
// Policies that HAProxy does differently from the builtin provider:
//   - Passive health checks: HAProxy observes the connects of real traffic
//     (observe layer4) and marks a server down after ConsecutiveFailures
//     failures in a row (error-limit, on-error mark-down). It comes back
//     when a TCP connect check succeeds (rise 1): the first one
//     BaseEjection after the ejection, then every min(2*BaseEjection,
//     MaxEjection); the builtin provider instead doubles the ejection at
//     each failed return, up to MaxEjection, and tries the endpoint again
//     with a real request. HAProxy also checks a server that is up every
//     BaseEjection (fall ConsecutiveFailures), which the builtin provider
//     does not, and when every server is down it answers 503 where the
//     builtin provider still tries an ejected endpoint.
//   - MaxRequestBodyBytes: a larger Content-Length gets 413 before
//     anything is forwarded. A body without Content-Length (chunked, or
//     HTTP/2 without the header) is waited for (wait-for-body, at most 10s
//     and up to the limit) and counted only when the limit is at most
//     8 KiB, what HAProxy's request buffer holds; larger limits are not
//     enforced on such bodies, where the builtin provider cuts them while
//     streaming. Nothing is ever buffered beyond the request buffer.
//   - Cookie affinity: HAProxy always writes "path=/" after the value; an
//     http-after-response rule removes it when the cookie has another Path
//     (given as an attribute). Secure is added on HTTPS connections
//     (ssl_fc), and always with SameSite=None, as builtin does.
//   - Hash policies: the key is read into variables and hashed by
//     "balance hash" on HAProxy's consistent ring, which places servers by
//     their slot, not by address as the builtin provider does; a key goes
//     to one endpoint in each, not the same one. A cookie sent twice counts
//     by its last value (the builtin provider's first). Mode tcp backends
//     balance without the key (hash.go).
//   - The send timeout: HAProxy has one server-side timeout for both
//     directions, which is the largest of the response, idle and send
//     timeouts; a request body the server stops reading is cut after it,
//     and the client's connection is closed without an answer (the
//     builtin provider answers 504).
//   - HTTPS listeners without a catch-all certificate serve the provider's
//     own self-signed default certificate, kept in the runtime directory.
//   - Client limits (provider.Options): the head limit is a rule that
//     counts the head as the builtin provider does (431), with a request
//     buffer sized to hold it; heads past the buffer get HAProxy's 400. A
//     request body that stops coming is not subject to "timeout client"
//     (HAProxy 2.6 does not apply it while the server is connected) but to
//     the server timeout, and gets 504 where the builtin provider answers
//     408 after the client body timeout; the backend connection is closed
//     in both. "timeout tunnel" in defaults is the tunnel idle timeout,
//     replaced by a backend's idle timeout. Every frontend has the
//     connection cap as maxconn.
//
// Each backend has a fixed number of "server" slots (a power of two, at
// least four, with room to spare). An endpoints-only change (lbconfig.Diff)
// moves endpoints in and out of slots with the runtime API ("set server
// ... addr" and "... state") and never reloads; a backend that outgrows its
// slots, or any structural change, renders a new generation.
//
// A generation is written to its own directory, checked with "haproxy -c",
// and only then made current by swapping a symlink; a rejected generation is
// deleted and the old one keeps serving. HAProxy runs in master-worker mode
// with a master CLI socket; a reload is the master CLI "reload" command, and
// the stats socket's "expose-fd listeners" lets the new worker take over the
// listening sockets, so no connection is refused. Before a reload the
// runtime server state is saved to the server-state file, keeping only the
// lines that agree with the new generation, so a reload keeps runtime state
// without undoing the new config.
//
// After a reload the old worker finishes what it has: requests in flight,
// tunnels (up to the drain timeout, by hard-stop-after), and idle
// keep-alive connections, whose next request it answers with
// "Connection: close" (option idle-close-on-response) rather than closing
// them under a request the client may be sending. So each such connection
// gets one more answer from the old config.
//
// Cost per request. Every HTTP request runs the frontend's rules (head
// limit, request-target checks, path normalization, hop-by-hop fields,
// routing, X-Forwarded-*): each rule costs a few hundred to two thousand
// instructions even when it changes nothing, so rules run their regular
// expressions, regsubs and path normalizers only where a substring match
// says there is something to do, and lookups in maps that are empty in a
// generation are left out. The head is counted only where req.len says
// it may be over the limit, the percent normalizers run only on paths with
// a "%", and the Lua actions, run only where a Connection field is, settle
// Upgrade and Connection there, which the config's rules do for the rest
// (bench/haproxy-cost.sh prints what each group costs). The largest
// single cost is not a rule: with
// retries, "retry-on empty-response" (which covers a reused backend
// connection that the endpoint closed meanwhile) makes HAProxy copy the
// whole request buffer (tune.bufsize, over 32 KiB with the default head
// limit) for each request it may have to send again; measured on
// keep-alive traffic, about a tenth of HAProxy's CPU. Only requests that
// may be sent twice (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) are retried
// that way ("disable-l7-retry" for the others), as the builtin provider
// does: a backend that closed without answering may have acted on a POST.
//
// Route timeouts and mirrors. A route's timeouts become the stream's
// server timeout (set-timeout in its backends), an inactivity timeout:
// the builtin ends the whole exchange at the deadline, HAProxy only when
// the backend is silent that long (timeouts.go). Request mirrors are a
// Lua action that leaves each copy to a Lua task, so the client never
// waits for a mirror (mirror.go).
//
// Run supervises the master: if it dies it is restarted with backoff (the
// first restart at once) from the last applied config and slot layout, and
// Healthy reports the outage meanwhile. When Run's context ends the master
// is soft-stopped (SIGUSR1) within the shutdown grace, then killed, unless
// KeepOnExit is set. A new provider on the same runtime directory adopts a
// master that is still running (pid file and master socket), so restarting
// the controller does not drop traffic.
package haproxy
