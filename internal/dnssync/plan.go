package dnssync

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"ingress-controller/internal/clip"
)

// Plan returns the changes that make the names owner owns in a zone, whose
// records are current, equal to desired: names in desired that are free are
// claimed, owned names get desired's records, owned names not in desired go
// with their owner records. It never changes a name that owner does not own:
// a desired name held by someone else is a Conflict, a desired entry that
// cannot be published is Invalid and its name, if owned, is left as it is.
// Plan is pure and its output sorted.
func Plan(current []RR, desired Desired, owner string) Changes {
	zone, err := CanonicalZone(desired.Zone)
	if err != nil {
		return Changes{Zone: desired.Zone, Invalid: []Invalid{{Reason: err.Error()}}}
	}
	out := Changes{Zone: zone}
	if err := CheckOwnerID(owner); err != nil {
		out.Invalid = []Invalid{{Reason: err.Error()}}
		return out
	}
	ttl := cmp.Or(desired.TTL, DefaultTTL)
	if ttl > MaxTTL {
		out.Invalid = []Invalid{{Reason: fmt.Sprintf("TTL %d is more than %d", ttl, MaxTTL)}}
		return out
	}

	z := indexZone(current, zone)
	want, keep, invalid := checkRecords(desired.Records, zone)
	out.Invalid = invalid
	for _, name := range slices.Sorted(maps.Keys(want)) {
		ch, conflict := z.plan(name, want[name], ttl, owner)
		switch {
		case conflict != nil:
			out.Conflicts = append(out.Conflicts, *conflict)
		case ch != nil:
			out.Names = append(out.Names, *ch)
		}
	}
	for _, name := range z.ownedBy(owner) {
		if _, ok := want[name]; ok || keep[name] {
			continue
		}
		n := z[name]
		ch := Change{Op: Delete, Name: name, Held: z.holder(name, owner).text}
		for _, t := range managedTypes {
			if n != nil && n.sets[t] != nil {
				ch.Remove = append(ch.Remove, t)
			}
		}
		out.Names = append(out.Names, ch)
	}
	slices.SortFunc(out.Names, func(a, b Change) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// checkRecords returns the desired records set by canonical name, the
// names to keep as they are because their entries are invalid, and why.
func checkRecords(records []Record, zone string) (map[string]map[Type][]string, map[string]bool, []Invalid) {
	want := map[string]map[Type][]string{}
	keep := map[string]bool{}
	seen := map[string]int{}
	var invalid []Invalid
	for _, r := range records {
		name, sets, problems := checkRecord(r, zone)
		if name != "" {
			seen[name]++
			if seen[name] == 2 {
				invalid = append(invalid, Invalid{Name: name, Reason: "listed more than once"})
			}
		}
		if len(problems) > 0 {
			invalid = append(invalid, Invalid{Name: cmp.Or(name, clip.Value(r.Name)), Reason: strings.Join(problems, "; ")})
			if name != "" {
				keep[name] = true
			}
			continue
		}
		want[name] = sets
	}
	for name, n := range seen {
		if n > 1 {
			delete(want, name)
			keep[name] = true
		}
	}
	slices.SortFunc(invalid, func(a, b Invalid) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Reason, b.Reason))
	})
	return want, keep, invalid
}

// zoneIndex is a zone's records by canonical name.
type zoneIndex map[string]*node

// node is the records at one name, by type.
type node struct {
	sets map[Type]*rrset
}

type rrset struct {
	ttl uint32
	// mixedTTL says the records have different TTLs, which RFC 2181 forbids
	// and a rewrite repairs.
	mixedTTL bool
	// data is canonical: addresses as netip prints them, targets lower-case
	// and absolute.
	data  []string
	texts [][]string
}

func indexZone(rrs []RR, zone string) zoneIndex {
	z := zoneIndex{}
	for _, rr := range rrs {
		name := absolute(strings.ToLower(rr.Name))
		if !inZone(name, zone) {
			continue
		}
		n := z[name]
		if n == nil {
			n = &node{sets: map[Type]*rrset{}}
			z[name] = n
		}
		s := n.sets[rr.Type]
		if s == nil {
			s = &rrset{ttl: rr.TTL}
			n.sets[rr.Type] = s
		}
		s.mixedTTL = s.mixedTTL || s.ttl != rr.TTL
		switch rr.Type {
		case TypeA, TypeAAAA:
			data := rr.Data
			if a, err := netip.ParseAddr(data); err == nil {
				data = a.String()
			}
			s.data = append(s.data, data)
		case TypeCNAME:
			s.data = append(s.data, absolute(strings.ToLower(rr.Data)))
		case TypeTXT:
			s.texts = append(s.texts, rr.Text)
		}
	}
	for _, n := range z {
		for _, s := range n.sets {
			sortData(s.data)
		}
	}
	return z
}

func absolute(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// holding says who holds a name, by its owner record.
type holding struct {
	kind holdKind
	// owner is the owner id of another ingress-controller (theirs).
	owner string
	// text and ttl are our owner record's (ours).
	text string
	ttl  uint32
}

type holdKind int

const (
	free    holdKind = iota // no records at the owner name
	ours                    // one owner record, with our owner id
	theirs                  // one owner record, with another owner id
	foreign                 // records at the owner name that are not one owner record
)

func (z zoneIndex) holder(name, owner string) holding {
	n := z[OwnerName(name)]
	if n == nil {
		return holding{kind: free}
	}
	if s := n.sets[TypeTXT]; s != nil && len(s.texts) == 1 && len(s.texts[0]) == 1 {
		text := s.texts[0][0]
		if id, ok := parseOwner(text); ok {
			if id == owner {
				return holding{kind: ours, text: text, ttl: s.ttl}
			}
			return holding{kind: theirs, owner: id}
		}
	}
	return holding{kind: foreign}
}

// ownedBy returns the names owner owns, sorted.
func (z zoneIndex) ownedBy(owner string) []string {
	var names []string
	for n := range z {
		name, ok := strings.CutPrefix(n, OwnerLabel+".")
		if ok && z.holder(name, owner).kind == ours {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// plan returns the change that gives name the record sets want, nil if it
// has them, or the conflict that leaves it alone.
func (z zoneIndex) plan(name string, want map[Type][]string, ttl uint32, owner string) (*Change, *Conflict) {
	h := z.holder(name, owner)
	n := z[name]
	switch h.kind {
	case theirs:
		return nil, &Conflict{Name: name, Owner: h.owner, Reason: "owned by the ingress-controller with owner id " + h.owner}
	case foreign:
		return nil, &Conflict{Name: name, Reason: fmt.Sprintf("%s has records that are not an ingress-controller owner record", OwnerName(name))}
	case free:
		if n != nil {
			return nil, &Conflict{Name: name, Reason: fmt.Sprintf("has records not created by ingress-controller (%s)", n.typeList(nil))}
		}
		ch := &Change{Op: Create, Name: name, Owner: OwnerText(owner), TTL: ttl}
		for _, t := range managedTypes {
			if len(want[t]) > 0 {
				ch.Set = append(ch.Set, RRset{Type: t, Data: want[t]})
			}
		}
		return ch, nil
	}
	if n == nil {
		n = &node{}
	}
	if len(want[TypeCNAME]) > 0 {
		if others := n.typeList(managedTypes[:]); others != "" {
			return nil, &Conflict{Name: name, Reason: fmt.Sprintf("a CNAME cannot share its name with the %s records there", others)}
		}
	}
	ch := &Change{Op: Update, Name: name, Held: h.text, TTL: ttl}
	for _, t := range managedTypes {
		have, w := n.sets[t], want[t]
		switch {
		case len(w) == 0 && have != nil:
			ch.Remove = append(ch.Remove, t)
		case len(w) > 0 && (have == nil || have.mixedTTL || have.ttl != ttl || !slices.Equal(have.data, w)):
			ch.Set = append(ch.Set, RRset{Type: t, Data: w})
		}
	}
	if h.text != OwnerText(owner) || h.ttl != ttl {
		ch.Owner = OwnerText(owner)
	}
	if len(ch.Remove) == 0 && len(ch.Set) == 0 && ch.Owner == "" {
		return nil, nil
	}
	return ch, nil
}

// typeList names the types at n but those in except, sorted: "A, MX".
func (n *node) typeList(except []Type) string {
	var names []string
	for t := range n.sets {
		if !slices.Contains(except, t) {
			names = append(names, t.String())
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
