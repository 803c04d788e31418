package rfc2136

import (
	"fmt"
	"net"

	"github.com/miekg/dns"

	"ingress-controller/internal/dnssync"
)

// maxUpdateSize is how many bytes of records an UPDATE message may carry:
// a DNS message over TCP is at most 65535 bytes, and the TSIG record takes
// at most a few hundred (two names, a 64-byte MAC, timers).
const maxUpdateSize = dns.MaxMsgSize - 1024

// updates returns the UPDATE messages, unsigned, that apply changes to
// zone: one, unless the records exceed maxUpdateSize. Sizes are counted
// without name compression, so every message fits.
func updates(zone string, changes []dnssync.Change) ([]*dns.Msg, error) {
	var msgs []*dns.Msg
	var m *dns.Msg
	size := 0
	for _, ch := range changes {
		prereq, update, err := changeRecords(ch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ch.Name, err)
		}
		n := recordsLen(prereq) + recordsLen(update)
		if m == nil || size+n > maxUpdateSize {
			m = new(dns.Msg)
			m.SetUpdate(zone)
			size = m.Len()
			if size+n > maxUpdateSize {
				return nil, fmt.Errorf("%s: the change takes %d bytes, more than a message holds", ch.Name, n)
			}
			msgs = append(msgs, m)
		}
		m.Answer = append(m.Answer, prereq...)
		m.Ns = append(m.Ns, update...)
		size += n
	}
	return msgs, nil
}

func recordsLen(rrs []dns.RR) int {
	n := 0
	for _, rr := range rrs {
		n += dns.Len(rr)
	}
	return n
}

// changeRecords returns the prerequisites and the updates of one change.
func changeRecords(ch dnssync.Change) (prereq, update []dns.RR, err error) {
	owner := dnssync.OwnerName(ch.Name)
	if ch.Op == dnssync.Create {
		// RFC 2136 §2.4.5: Name Is Not In Use.
		prereq = []dns.RR{noRecord(ch.Name, dns.TypeANY, dns.ClassNONE), noRecord(owner, dns.TypeANY, dns.ClassNONE)}
	} else {
		// §2.4.2: RRset Exists (Value Dependent): the owner record is the
		// one the plan was made from, and alone.
		prereq = []dns.RR{&dns.TXT{Hdr: header(owner, dns.TypeTXT, 0), Txt: []string{ch.Held}}}
	}
	// §2.5.2: Delete An RRset, before Set writes its types, so that a CNAME
	// replaces addresses and addresses replace a CNAME.
	for _, t := range ch.Remove {
		update = append(update, noRecord(ch.Name, uint16(t), dns.ClassANY))
	}
	for _, s := range ch.Set {
		if ch.Op != dnssync.Create {
			update = append(update, noRecord(ch.Name, uint16(s.Type), dns.ClassANY))
		}
		for _, d := range s.Data {
			rr, err := record(ch.Name, s.Type, ch.TTL, d)
			if err != nil {
				return nil, nil, err
			}
			update = append(update, rr)
		}
	}
	if ch.Op == dnssync.Delete || (ch.Op == dnssync.Update && ch.Owner != "") {
		update = append(update, noRecord(owner, dns.TypeTXT, dns.ClassANY))
	}
	if ch.Owner != "" {
		update = append(update, &dns.TXT{Hdr: header(owner, dns.TypeTXT, ch.TTL), Txt: []string{ch.Owner}})
	}
	return prereq, update, nil
}

// noRecord is a record without data: a prerequisite on a name or an RRset
// (class NONE or ANY), or the deletion of an RRset (class ANY).
func noRecord(name string, t, class uint16) dns.RR {
	return &dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: t, Class: class}}
}

func header(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// record is one record to add, from a planned RRset's data.
func record(name string, t dnssync.Type, ttl uint32, data string) (dns.RR, error) {
	switch t {
	case dnssync.TypeA, dnssync.TypeAAAA:
		ip := net.ParseIP(data)
		if ip == nil || (t == dnssync.TypeA) != (ip.To4() != nil) {
			return nil, fmt.Errorf("%s record with data %q", t, data)
		}
		if t == dnssync.TypeA {
			return &dns.A{Hdr: header(name, dns.TypeA, ttl), A: ip.To4()}, nil
		}
		return &dns.AAAA{Hdr: header(name, dns.TypeAAAA, ttl), AAAA: ip}, nil
	case dnssync.TypeCNAME:
		return &dns.CNAME{Hdr: header(name, dns.TypeCNAME, ttl), Target: data}, nil
	}
	return nil, fmt.Errorf("cannot write %s records", t)
}
