package translate

import (
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Gateway API hostnames differ from Ingress's in two ways the generic
// config has to be told:
//
//   - A wildcard "*.example.com" stands for one or more labels
//     (a.example.com and a.b.example.com), where Ingress's stands for
//     exactly one: a Gateway's wildcard virtual hosts are MultiLabel.
//     The most specific virtual host takes a request, as the spec gives
//     it to the most specific listener and route hostname.
//   - A RequestRedirect without hostname keeps the request's Host
//     header: its Redirect has RequestHost, and the provider writes the
//     request's host, as it routed by it and only if a Location can
//     carry it as it is, on a wildcard or catch-all virtual host (on an
//     exact one, the host is the virtual host's name).
//
// Ingress's virtual hosts and redirects keep their one-label wildcards
// and never reflect the Host.

// gatewayVirtualHost is the virtual host of a Gateway's hostname host
// ("" for any).
func gatewayVirtualHost(host string) lbconfig.VirtualHost {
	return lbconfig.VirtualHost{Hostname: host, MultiLabel: strings.HasPrefix(host, "*.")}
}
