package dnssync

import (
	"context"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzPlan plans from any zone and desired state, and checks that the plan
// touches only names we own, claims only free ones, applies cleanly on an
// unchanged zone, and leaves nothing to do: a second plan is empty.
//
// current is one record a line, "name type ttl data" (TXT strings split by
// "|"); desired is one entry a line, "name addr,addr cname".
func FuzzPlan(f *testing.F) {
	f.Add("shop.example.test. 1 60 192.0.2.1\n_ic-owner.shop.example.test. 16 60 heritage=ingress-controller,owner=cluster-a",
		"shop.example.test 192.0.2.2,2001:db8::1 \nwww.example.test  shop.example.test")
	f.Add("www.example.test. 1 300 192.0.2.80\n_ic-owner.cart.example.test. 16 60 heritage=ingress-controller,owner=cluster-b\nexample.test. 6 300",
		"www.example.test 192.0.2.1 \ncart.example.test 192.0.2.1 \nexample.test 192.0.2.1 ")
	f.Add("_ic-owner.a.example.test. 16 60 heritage=ingress-controller,owner=cluster-a|x\na.example.test. 15 60",
		"a.example.test  b.example.test\n*.b.example.test 10.0.0.1 ")
	f.Add("_ic-owner.A.Example.Test 16 1 heritage=ingress-controller,owner=cluster-a,v=2\nA.example.test 5 1 Other.Example.",
		"a.example.test 0.0.0.0,::1 \na.example.test 10.0.0.1 ")
	f.Fuzz(func(t *testing.T, current, desired string) {
		rrs := parseRecords(current)
		d := Desired{Zone: zone}
		for _, line := range strings.Split(desired, "\n") {
			name, rest, _ := strings.Cut(line, " ")
			list, cname, _ := strings.Cut(rest, " ")
			r := Record{Name: name, CNAME: cname}
			for _, a := range strings.Split(list, ",") {
				if addr, err := netip.ParseAddr(a); err == nil {
					r.Addresses = append(r.Addresses, addr)
				}
			}
			d.Records = append(d.Records, r)
		}

		plan := Plan(rrs, d, me)
		if again := Plan(rrs, d, me); !reflect.DeepEqual(plan, again) {
			t.Fatalf("two plans differ:\n%s\n%s", dump(plan), dump(again))
		}
		checkOwnedOnly(t, rrs, plan)
		z := &memZone{rrs: rrs}
		if err := z.Apply(context.Background(), plan); err != nil {
			t.Fatalf("the plan does not apply to the zone it was made from: %v\n%s", err, dump(plan))
		}
		if next := Plan(z.rrs, d, me); len(next.Names) != 0 {
			t.Fatalf("after applying\n%s\nthe next plan is\n%s", dump(plan), dump(next))
		}
	})
}

func parseRecords(s string) []RR {
	var rrs []RR
	for _, line := range strings.Split(s, "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 3 {
			continue
		}
		t, err1 := strconv.ParseUint(f[1], 10, 16)
		ttl, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		rr := RR{Name: f[0], Type: Type(t), TTL: uint32(ttl)}
		if len(f) == 4 {
			if rr.Type == TypeTXT {
				rr.Text = strings.Split(f[3], "|")
			} else {
				rr.Data = f[3]
			}
		}
		rrs = append(rrs, rr)
	}
	return rrs
}
