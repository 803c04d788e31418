package rfc2136

import (
	"errors"
	"fmt"

	"github.com/miekg/dns"

	"ingress-controller/internal/dnssync"
)

var (
	// ErrKey says the server rejected the TSIG key: it does not know the
	// key, the secret or algorithm differs, or the clocks differ by more
	// than 5 minutes.
	ErrKey = errors.New("the server rejected the TSIG key")
	// ErrRefused says the server does not let this key do this to the zone.
	ErrRefused = errors.New("refused")
	// ErrNotAuthoritative says the server does not serve the zone as a
	// primary.
	ErrNotAuthoritative = errors.New("the server is not authoritative for the zone")
	// ErrServerFailure says the server failed, for example to write the
	// zone's journal.
	ErrServerFailure = errors.New("server failure")
	// ErrUnsigned says an answer that grants something is not signed by
	// the key: it may not come from the server.
	ErrUnsigned = errors.New("the answer is not signed by the key")
)

// ResponseError is an answer that refuses a transfer or an update.
type ResponseError struct {
	// Op is "transfer" or "update".
	Op, Zone, Server string
	// Key is the name of the key the request was signed with.
	Key   string
	Rcode int
	// TSIGError is the error in the answer's TSIG record: dns.RcodeBadSig,
	// dns.RcodeBadKey, dns.RcodeBadTime, or 0.
	TSIGError uint16
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("%s of zone %s at %s: %s", e.Op, e.Zone, e.Server, rcodeName(e.Rcode))
	if e.TSIGError != 0 {
		s += " (TSIG " + tsigErrorName(e.TSIGError) + ")"
	}
	if why := e.explain(); why != "" {
		s += ": " + why
	}
	return s
}

// Unwrap returns the kind of refusal: ErrKey, ErrRefused,
// ErrNotAuthoritative, ErrServerFailure, dnssync.ErrConflict, or nil.
func (e *ResponseError) Unwrap() error {
	switch {
	case e.TSIGError != 0:
		return ErrKey
	case e.Rcode == dns.RcodeYXDomain || e.Rcode == dns.RcodeYXRrset || e.Rcode == dns.RcodeNXRrset || e.Rcode == dns.RcodeNameError:
		return dnssync.ErrConflict
	case e.Rcode == dns.RcodeNotAuth:
		return ErrNotAuthoritative
	case e.Rcode == dns.RcodeRefused:
		return ErrRefused
	case e.Rcode == dns.RcodeServerFailure:
		return ErrServerFailure
	}
	return nil
}

func (e *ResponseError) explain() string {
	switch e.TSIGError {
	case dns.RcodeBadKey:
		return "the server does not know key " + e.Key
	case dns.RcodeBadSig:
		return "the secret or algorithm of key " + e.Key + " differs from the server's"
	case dns.RcodeBadTime:
		return "the clocks of this host and the server differ by more than the 5 minutes key " + e.Key + " allows"
	case 0:
	default:
		return ErrKey.Error()
	}
	switch e.Unwrap() {
	case dnssync.ErrConflict:
		return "a prerequisite failed: " + dnssync.ErrConflict.Error()
	case ErrNotAuthoritative:
		return ErrNotAuthoritative.Error()
	case ErrRefused:
		return "the server does not allow this key to " + e.Op + " the zone"
	case ErrServerFailure:
		return ErrServerFailure.Error() + "; the server's log says why"
	}
	if e.Rcode == dns.RcodeNotZone {
		return "a name is outside the zone"
	}
	return ""
}

// checkAnswer returns the ResponseError an answer carries, or nil if it
// grants what was asked.
func (b *Backend) checkAnswer(op, zone string, m *dns.Msg) error {
	var tsigErr uint16
	if t := m.IsTsig(); t != nil {
		tsigErr = t.Error
	}
	if m.Rcode == dns.RcodeSuccess && tsigErr == 0 {
		return nil
	}
	return &ResponseError{Op: op, Zone: zone, Server: b.server, Key: b.key.Name, Rcode: m.Rcode, TSIGError: tsigErr}
}

func rcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rcode)
}

// tsigErrorName names TSIG errors; RcodeToString says BADVERS for 16,
// which in a TSIG record is BADSIG.
func tsigErrorName(e uint16) string {
	if e == dns.RcodeBadSig {
		return "BADSIG"
	}
	return rcodeName(int(e))
}
