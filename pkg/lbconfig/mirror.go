package lbconfig

import (
	"cmp"
	"fmt"
	"slices"
)

// Request mirrors, Gateway API's HTTPRequestMirrorFilter: a copy of a
// share of a route's requests goes to other backends, whose answers are
// thrown away. The client's response comes from the route's backend
// alone, and a mirror that fails, hangs or never reads never delays or
// changes it: a provider sends copies on its own time, drops them when
// too many are in flight, and copies a body only up to a bound
// (docs/providers.md says what each provider does, and which has none).

// MaxMirrors bounds Route.Mirrors.
const MaxMirrors = 8

// Mirror is one backend that gets copies of a route's requests.
type Mirror struct {
	// Name is a backend of the Config.
	Name string `json:"name"`
	// Numerator out of Denominator of the requests are copied, drawn at
	// random per request; Denominator 0 copies every request (Gateway
	// API's percent p is p out of 100).
	Numerator   int32 `json:"numerator,omitempty"`
	Denominator int32 `json:"denominator,omitempty"`
}

// Copies reports whether a request gets a copy, given n drawn uniformly
// from [0, Denominator) (ignored when Denominator is 0).
func (m Mirror) Copies(n int32) bool {
	return m.Denominator == 0 || n < m.Numerator
}

// mirrors checks a route's mirrors; ref checks that a backend exists.
func (v *validator) mirrors(f string, r Route, ref func(string, *BackendRef)) {
	if len(r.Mirrors) > MaxMirrors {
		v.add(f+".mirrors", fmt.Sprintf("more than %d mirrors", MaxMirrors))
	}
	if len(r.Mirrors) > 0 && (r.HTTPSRedirect != nil || r.Redirect != nil) {
		v.add(f+".mirrors", "a route that redirects sends no request to mirror")
	}
	for i, m := range r.Mirrors {
		mf := fmt.Sprintf("%s.mirrors[%d]", f, i)
		ref(mf+".name", &BackendRef{Name: m.Name})
		switch {
		case m.Denominator < 0 || m.Denominator > MaxWeight:
			v.add(mf+".denominator", fmt.Sprintf("%d is not within 0 and %d", m.Denominator, MaxWeight))
		case m.Numerator < 0 || (m.Denominator > 0 && m.Numerator > m.Denominator):
			v.add(mf+".numerator", fmt.Sprintf("%d is not within 0 and the denominator %d", m.Numerator, m.Denominator))
		case m.Denominator == 0 && m.Numerator != 0:
			v.add(mf+".numerator", "a mirror of every request (denominator 0) has no numerator")
		}
	}
}

// sortMirrors orders a route's mirrors by backend name, then share.
func (r *Route) sortMirrors() {
	slices.SortFunc(r.Mirrors, func(x, y Mirror) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Denominator, y.Denominator), cmp.Compare(x.Numerator, y.Numerator))
	})
}
