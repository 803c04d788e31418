package translate

import (
	"fmt"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/pkg/lbconfig"
)

// An HTTPRoute's CORS filter becomes the route's lbconfig.CORS with
// Gateway API's semantics, where they differ from ingress-nginx's (the
// annotations, headers.go): the "*" of an origin stands for one or more
// DNS labels (MultiLabel); with allowCredentials no "*" is ever sent,
// every origin, method and header allowed by one is answered with what
// the request asked for (EchoWildcards), and a "*" among the exposed
// headers, which browsers would refuse, is left out; a preflight's grant
// exposes headers too (PreflightExposes); maxAge is 5 seconds unless
// set. Origins are compared without their case and without a default
// port (":443" for https, ":80" for http), which browsers never send.

// defaultGatewayCORSMaxAge is the spec's maxAge when it is not set.
const defaultGatewayCORSMaxAge = 5

// readCORSFilter converts a CORS filter.
func readCORSFilter(cf *gatewayv1.HTTPCORSFilter, route *lbconfig.Route) error {
	if cf == nil {
		return fmt.Errorf("the filter has no settings")
	}
	if route.CORS != nil {
		return fmt.Errorf("the rule has more than one CORS filter")
	}
	c := &lbconfig.CORS{AllowOrigins: []string{}, MultiLabel: true, PreflightExposes: true, MaxAge: cf.MaxAge}
	if cf.AllowCredentials != nil && *cf.AllowCredentials {
		c.AllowCredentials, c.EchoWildcards = true, true
	}
	for _, o := range cf.AllowOrigins {
		c.AllowOrigins = append(c.AllowOrigins, gatewayOrigin(string(o)))
	}
	slices.Sort(c.AllowOrigins)
	c.AllowOrigins = slices.Compact(c.AllowOrigins)
	for _, m := range cf.AllowMethods {
		c.AllowMethods = append(c.AllowMethods, string(m))
	}
	for _, h := range cf.AllowHeaders {
		c.AllowHeaders = append(c.AllowHeaders, string(h))
	}
	for _, h := range cf.ExposeHeaders {
		if h != "*" || !c.EchoWildcards {
			c.ExposeHeaders = append(c.ExposeHeaders, string(h))
		}
	}
	if c.MaxAge == 0 {
		c.MaxAge = defaultGatewayCORSMaxAge
	}
	if err := c.Check(); err != nil {
		return err
	}
	route.CORS = c
	return nil
}

// gatewayOrigin is o in lower case without a default port.
func gatewayOrigin(o string) string {
	o = strings.ToLower(o)
	switch {
	case strings.HasPrefix(o, "https://"):
		return strings.TrimSuffix(o, ":443")
	case strings.HasPrefix(o, "http://"):
		return strings.TrimSuffix(o, ":80")
	}
	return o
}
