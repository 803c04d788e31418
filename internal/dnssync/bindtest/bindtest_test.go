package bindtest

import (
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/miekg/dns"
)

func TestStartStop(t *testing.T) {
	s := Start(t, Options{Records: []string{"www 300 IN A 192.0.2.80"}})
	if got := s.Lookup(t, "www.example.test", dns.TypeA); !slices.Equal(got, []string{"192.0.2.80"}) {
		t.Errorf("www.example.test A = %q, want 192.0.2.80", got)
	}
	if got := s.Lookup(t, "nowhere.example.test", dns.TypeA); len(got) != 0 {
		t.Errorf("nowhere.example.test A = %q, want none", got)
	}
	serial := s.Serial(t)
	s.MustUpdate(t, OtherKey, func(m *dns.Msg) {
		rr, _ := dns.NewRR("api.example.test. 60 IN A 192.0.2.81")
		m.Insert([]dns.RR{rr})
	})
	if got := s.Serial(t); got != serial+1 {
		t.Errorf("serial after one update = %d, want %d", got, serial+1)
	}
	if rcode := s.Update(t, ReadOnlyKey, func(m *dns.Msg) {}); rcode != dns.RcodeRefused {
		t.Errorf("an update signed with %s: %s, want REFUSED", ReadOnlyKey, dns.RcodeToString[rcode])
	}

	pid := s.Pid()
	s.Stop(t)
	s.Stop(t)
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("named (pid %d) after Stop: kill -0 says %v, want no such process", pid, err)
	}
	if _, err := os.Stat(s.Dir + "/zone.db.jnl"); err != nil {
		t.Errorf("no journal beside the zone file in the temp dir: %v", err)
	}
}
