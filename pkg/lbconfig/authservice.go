package lbconfig

// An auth server reached through a backend (ExternalAuth.Backend): the
// source resolved the host of the auth URL, a Service of the cluster, to
// that Service's endpoints, so that providers need not resolve names and
// the endpoints change as any backend's do. The subrequest goes to one
// of the backend's ready endpoints, a provider's choice (the providers
// rotate), and to the next when connecting to it fails, all within the
// one Timeout; with no ready endpoint, or none that answers, the check
// fails (500). Only http: the certificate of an https auth server is
// verified against the URL's host, which a bare endpoint is not.

// authBackend checks a's Backend: one of the Config's, for an http URL.
func (v *validator) authBackend(f string, a *ExternalAuth, ref func(string, *BackendRef)) {
	if a.Backend == nil {
		return
	}
	ref(f+".backend", a.Backend)
	if https, _, _, _, _, err := AuthURLParts(a.URL); err == nil && https {
		v.add(f+".backend", "an auth server reached through a backend is spoken to in http, and the URL is https")
	}
}
