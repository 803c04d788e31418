package haproxy

// An auth server reached through a backend (lbconfig.ExternalAuth's
// Backend) is asked at the servers of that backend's mode http HAProxy
// backend, which RenderConfig renders as any other, its slots moved by
// the runtime API when the endpoints change: the Lua action reads their
// address and state (backend-servers.lua, ready_servers, which request
// mirrors share; at most once a second, a state costing some 50 us), so
// no reload is needed. It takes the servers in service ("no check", or up
// by a health check), never one in maintenance or draining, in turn
// from the next of the rule's rotation, and the next when connecting
// fails, within the one timeout; none: the check fails (500). The rule
// table names the backend; the URL still gives the target and Host.
