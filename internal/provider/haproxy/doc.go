// Package haproxy is the provider that drives a real HAProxy.
//
// # Theory of operation
//
// RenderConfig turns an lbconfig.Config into haproxy.cfg plus map files.
// One frontend per listener port routes with map lookups, so thousands of
// routes cost a tree lookup, not a list of ACLs: the normalized Host picks a
// virtual host id from an exact-host map, else (after dropping its first
// label) from a wildcard map, else the catch-all; then "<vhost>:<path>" is
// looked up in an exact-path map and, failing that, "<vhost>:<path>/" in a
// longest-prefix map (map_beg) whose keys end in "/", which is exactly the
// element-wise prefix match of lbconfig. Nothing matched goes to the
// listener's default backend, else 404. User values reach only the map
// files, checked; backend names become sanitized identifiers with a hash.
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
// Run supervises the master: if it dies it is restarted with backoff (the
// first restart at once) from the last applied config and slot layout, and
// Healthy reports the outage meanwhile. When Run's context ends the master
// is soft-stopped (SIGUSR1) within the shutdown grace, then killed, unless
// KeepOnExit is set. A new provider on the same runtime directory adopts a
// master that is still running (pid file and master socket), so restarting
// the controller does not drop traffic.
package haproxy
