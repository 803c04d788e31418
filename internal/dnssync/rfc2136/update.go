package rfc2136

import (
	"fmt"
	"net"

	"github.com/miekg/dns"

	"ingress-controller/internal/dnssync"
)

// maxUpdateSize is how many bytes an UPDATE message may take before it is
// signed: a DNS message over TCP is at most 65535 bytes, and the TSIG
// record takes at most a few hundred (two names, a 64-byte MAC, timers).
const maxUpdateSize = dns.MaxMsgSize - 1024

// updates returns the UPDATE messages, unsigned, that apply changes to
// zone: one, unless they exceed maxUpdateSize; then as few as hold them,
// each with whole changes.
func updates(zone string, changes []dnssync.Change) ([]*dns.Msg, error) {
	type records struct{ prereq, update []dns.RR }
	all := make([]records, len(changes))
	for i, ch := range changes {
		prereq, update, err := changeRecords(ch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ch.Name, err)
		}
		all[i] = records{prereq, update}
	}
	var msgs []*dns.Msg
	for len(all) > 0 {
		m := new(dns.Msg)
		m.SetUpdate(zone)
		m.Compress = true
		// Add as many changes as fit: all at first, which is the common
		// case and costs one Len; when they do not fit, half as many,
		// and so on.
		n := 0
		for step := len(all); step > 0 && n < len(all); {
			try := min(step, len(all)-n)
			answers, ns := len(m.Answer), len(m.Ns)
			for _, r := range all[n : n+try] {
				m.Answer = append(m.Answer, r.prereq...)
				m.Ns = append(m.Ns, r.update...)
			}
			if m.Len() <= maxUpdateSize {
				n += try
				continue
			}
			m.Answer, m.Ns = m.Answer[:answers], m.Ns[:ns]
			step /= 2
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: the change is too big for one message", changes[len(changes)-len(all)].Name)
		}
		msgs = append(msgs, m)
		all = all[n:]
	}
	return msgs, nil
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
