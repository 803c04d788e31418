package lbconfig

import (
	"fmt"
	"time"

	"ingress-controller/internal/clip"
)

// AffinityType is how a client is kept on one endpoint.
type AffinityType string

// Affinity types.
const (
	// AffinityByCookie sets a cookie that names the endpoint (by a hash of
	// its address and port, so the choice survives config changes and
	// provider restarts) and sends later requests that carry it to that
	// endpoint while it is ready.
	AffinityByCookie AffinityType = "cookie"
	// AffinityBySourceIP hashes the client's IP address onto the ready
	// endpoints with rendezvous hashing: a client moves only when its
	// endpoint leaves.
	AffinityBySourceIP AffinityType = "source-ip"
)

// Affinity keeps a client on the endpoint it reached first. A client whose
// endpoint is no longer ready is moved to another one.
type Affinity struct {
	Type AffinityType `json:"type"`
	// Cookie configures AffinityByCookie; required for it.
	Cookie *AffinityCookie `json:"cookie,omitempty"`
}

// AffinityCookie is the cookie of AffinityByCookie. Providers add the Secure
// attribute on HTTPS, and always when SameSite is None.
type AffinityCookie struct {
	// Name is a cookie name (an RFC 6265 token).
	Name string `json:"name"`
	// MaxAge makes the cookie persistent; zero means a session cookie.
	MaxAge Duration `json:"maxAge,omitzero"`
	// Path is the cookie's Path attribute; empty means "/".
	Path string `json:"path,omitempty"`
	// SameSite is "", "Lax", "Strict" or "None".
	SameSite string `json:"sameSite,omitempty"`
}

// Timeouts bound the backend side of an exchange; zero means the
// provider's default.
type Timeouts struct {
	// Connect bounds connecting to an endpoint.
	Connect Duration `json:"connect,omitzero"`
	// ResponseHeader bounds the wait for the response head once the
	// request was sent.
	ResponseHeader Duration `json:"responseHeader,omitzero"`
	// Idle bounds the silence of an established exchange: a response body,
	// a websocket or a TCP connection with no bytes either way for this
	// long is closed.
	Idle Duration `json:"idle,omitzero"`
	// Send bounds each write of the request to the endpoint: a backend
	// that takes nothing of it for this long fails the request (504).
	// It is the time between two successive writes, not a total.
	Send Duration `json:"send,omitzero"`
}

// PassiveHealthCheck ejects an endpoint that fails ConsecutiveFailures
// connects in a row: it gets no new requests for BaseEjection, doubled at
// each ejection that follows without a success in between, up to
// MaxEjection. An ejected endpoint is still used when every endpoint of the
// backend is ejected.
type PassiveHealthCheck struct {
	ConsecutiveFailures int32    `json:"consecutiveFailures"`
	BaseEjection        Duration `json:"baseEjection"`
	MaxEjection         Duration `json:"maxEjection"`
}

// Duration is a time.Duration that reads and writes as text ("1.5s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// policy validates a backend's policy.
func (v *validator) policy(f string, p Policy) {
	switch p.Algorithm {
	case "", RoundRobin, LeastRequest, Random:
	default:
		v.add(f+".algorithm", fmt.Sprintf("unknown algorithm %q", p.Algorithm))
	}
	if a := p.Affinity; a != nil {
		switch a.Type {
		case AffinityByCookie:
			if a.Cookie == nil {
				v.add(f+".affinity.cookie", "cookie affinity needs a cookie")
				break
			}
			if err := CheckCookieName(a.Cookie.Name); err != nil {
				v.add(f+".affinity.cookie.name", err.Error())
			}
			if a.Cookie.MaxAge < 0 {
				v.add(f+".affinity.cookie.maxAge", "must not be negative")
			}
			if err := CheckCookiePath(a.Cookie.Path); err != nil {
				v.add(f+".affinity.cookie.path", err.Error())
			}
			switch a.Cookie.SameSite {
			case "", "Lax", "Strict", "None":
			default:
				v.add(f+".affinity.cookie.sameSite", fmt.Sprintf("%q is not Lax, Strict or None", a.Cookie.SameSite))
			}
		case AffinityBySourceIP:
			if a.Cookie != nil {
				v.add(f+".affinity.cookie", "only cookie affinity has a cookie")
			}
		default:
			v.add(f+".affinity.type", fmt.Sprintf("unknown affinity %q", a.Type))
		}
	}
	for name, d := range map[string]Duration{"connect": p.Timeouts.Connect, "responseHeader": p.Timeouts.ResponseHeader, "idle": p.Timeouts.Idle, "send": p.Timeouts.Send} {
		if d < 0 {
			v.add(f+".timeouts."+name, "must not be negative")
		}
	}
	if p.Hash != nil {
		v.hash(f, p)
	}
	if p.Retries < 0 {
		v.add(f+".retries", "must not be negative")
	}
	if h := p.PassiveHealthCheck; h != nil {
		if h.ConsecutiveFailures < 1 {
			v.add(f+".passiveHealthCheck.consecutiveFailures", "must be at least 1")
		}
		if h.BaseEjection <= 0 {
			v.add(f+".passiveHealthCheck.baseEjection", "must be positive")
		}
		if h.MaxEjection < h.BaseEjection {
			v.add(f+".passiveHealthCheck.maxEjection", "must be at least baseEjection")
		}
	}
	if p.MaxRequestBodyBytes < 0 {
		v.add(f+".maxRequestBodyBytes", "must not be negative")
	}
}

// CheckCookieName accepts an RFC 6265 cookie name: a non-empty token of
// at most 64 characters.
func CheckCookieName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("cookie name %q must have 1 to 64 characters", clip.Value(name))
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("cookie name %q: %q is not allowed", clip.Value(name), name[i])
		}
	}
	return nil
}

// CheckCookiePath accepts "" or a path of visible ASCII characters other
// than ';' that starts with '/'.
func CheckCookiePath(p string) error {
	if p == "" {
		return nil
	}
	if p[0] != '/' || len(p) > 1024 {
		return fmt.Errorf("cookie path %q must start with / and have at most 1024 characters", clip.Value(p))
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == ';' {
			return fmt.Errorf("cookie path %q: %q is not allowed", clip.Value(p), c)
		}
	}
	return nil
}

// isTokenChar reports an RFC 9110 token character.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
