package builtin

import (
	"errors"
	"strings"
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// TestCompileAuthService: a backend the config lacks, or https through a
// backend, never compiles into a route that could ask elsewhere; the
// target and Host are the URL's.
func TestCompileAuthService(t *testing.T) {
	sso := &backend{name: "auth/sso:4180"}
	lookup := func(ref *lbconfig.BackendRef) (*backend, error) {
		if ref.Name != sso.name {
			return nil, errors.New("backend " + ref.Name + " does not exist")
		}
		return sso, nil
	}
	ref := &lbconfig.BackendRef{Name: "auth/sso:4180"}
	s, err := compileAuthService(&lbconfig.ExternalAuth{URL: "http://sso.auth.svc.cluster.local:4180/oauth2/auth?a=%2F", Backend: ref}, lookup)
	if err != nil || s.backend != sso || s.host != "sso.auth.svc.cluster.local:4180" || s.target != "/oauth2/auth?a=%2F" {
		t.Errorf("compileAuthService = %+v, %v", s, err)
	}
	if s, err := compileAuthService(&lbconfig.ExternalAuth{URL: "http://10.0.0.1/"}, lookup); s != nil || err != nil {
		t.Errorf("without a backend: %+v, %v; want nil, nil", s, err)
	}
	for url, want := range map[string]string{
		"https://sso.auth.svc/":       "http",
		"http://sso.auth.svc/x":       "does not exist",
		"http://sso.auth.svc/%zz\r\n": "url",
	} {
		r := ref
		if want == "does not exist" {
			r = &lbconfig.BackendRef{Name: "auth/other:80"}
		}
		if s, err := compileAuthService(&lbconfig.ExternalAuth{URL: url, Backend: r}, lookup); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("URL %q: %+v, %v; want an error containing %q", url, s, err, want)
		}
	}
}
