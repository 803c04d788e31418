package route53

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"ingress-controller/internal/dnssync"
)

// limits bound one ChangeResourceRecordSets request. Route 53 counts the
// records and the characters of an UPSERT twice.
type limits struct {
	records int
	chars   int
}

// routeLimits are Route 53's: 1,000 ResourceRecord elements and 32,000
// characters of Value elements a request.
var routeLimits = limits{records: 1000, chars: 32000}

// unit is the Route 53 changes of one dnssync.Change: they go in one
// request, so that the Change is whole or not at all.
type unit struct {
	change  dnssync.Change
	changes []types.Change
	records int
	chars   int
}

// buildUnits returns the Route 53 changes of each Change, made from read,
// the record sets of the zone's last Read, or ErrConflict if read is not
// what the plan was made from.
func buildUnits(read zoneRead, changes []dnssync.Change) ([]unit, error) {
	units := make([]unit, 0, len(changes))
	for _, ch := range changes {
		u, err := buildUnit(read, ch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ch.Name, err)
		}
		units = append(units, u)
	}
	return units, nil
}

// buildUnit expresses a Change's precondition with what Route 53 has: a
// CREATE fails if its record set exists, a DELETE if its record set is not
// exactly as given (name, type, TTL and every value). So:
//
//   - Create CREATEs the owner record and each set. That fails if the owner
//     name holds a TXT record, or the name a set of a type it writes, or a
//     CNAME, or anything at all when it writes a CNAME. A record of another
//     type written at the name or the owner name after the read, an MX
//     say, does not make it fail: Route 53 has no "name not in use"
//     condition. The name is then ours beside that record, which we never
//     touch.
//   - Update and Delete first DELETE the owner record as read, which fails
//     unless it is still exactly the held one. Update then CREATEs it again,
//     or its new text, in the same request: the request guards ownership,
//     so the sets it writes are UPSERTs, and need not repeat their values.
//   - A removed type, and a deleted name's sets, are DELETEs of the sets
//     as read: they also fail if someone changed them since.
//
// The removals come before the writes, as Route 53's own example of a
// change in one request deletes before it creates, so that a CNAME can
// replace addresses.
func buildUnit(read zoneRead, ch dnssync.Change) (unit, error) {
	owner := dnssync.OwnerName(ch.Name)
	u := unit{change: ch}
	switch ch.Op {
	case dnssync.Create:
		if len(read[ch.Name]) > 0 || len(read[owner]) > 0 {
			return unit{}, fmt.Errorf("in use in the last read, which the plan was not made from: %w", dnssync.ErrConflict)
		}
		u.add(types.ChangeActionCreate, ownerSet(owner, ch.Owner, ch.TTL))
		for _, s := range ch.Set {
			u.add(types.ChangeActionCreate, simpleSet(ch.Name, s, ch.TTL))
		}
	case dnssync.Update, dnssync.Delete:
		held, err := read.held(owner, ch.Held)
		if err != nil {
			return unit{}, err
		}
		u.add(types.ChangeActionDelete, held)
		for _, t := range ch.Remove {
			sets := read[ch.Name][rrType(t)]
			if len(sets) == 0 {
				return unit{}, fmt.Errorf("no %s records in the last read, which the plan was not made from: %w", t, dnssync.ErrConflict)
			}
			for _, s := range sets {
				s.Name = aws.String(ch.Name)
				u.add(types.ChangeActionDelete, s)
			}
		}
		if ch.Op == dnssync.Delete {
			break
		}
		for _, s := range ch.Set {
			u.add(types.ChangeActionUpsert, simpleSet(ch.Name, s, ch.TTL))
		}
		if ch.Owner != "" {
			u.add(types.ChangeActionCreate, ownerSet(owner, ch.Owner, ch.TTL))
		} else {
			u.add(types.ChangeActionCreate, held)
		}
	default:
		return unit{}, fmt.Errorf("unknown op %s", ch.Op)
	}
	return u, nil
}

func (u *unit) add(action types.ChangeAction, set types.ResourceRecordSet) {
	u.changes = append(u.changes, types.Change{Action: action, ResourceRecordSet: &set})
	weight := 1
	if action == types.ChangeActionUpsert {
		weight = 2
	}
	// An alias set has no values; count it as one.
	u.records += weight * max(len(set.ResourceRecords), 1)
	for _, r := range set.ResourceRecords {
		u.chars += weight * len(aws.ToString(r.Value))
	}
}

func ownerSet(name, text string, ttl uint32) types.ResourceRecordSet {
	return types.ResourceRecordSet{
		Name:            aws.String(name),
		Type:            types.RRTypeTxt,
		TTL:             aws.Int64(int64(ttl)),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(quoteTXT(text))}},
	}
}

func simpleSet(name string, s dnssync.RRset, ttl uint32) types.ResourceRecordSet {
	set := types.ResourceRecordSet{Name: aws.String(name), Type: rrType(s.Type), TTL: aws.Int64(int64(ttl))}
	for _, d := range s.Data {
		set.ResourceRecords = append(set.ResourceRecords, types.ResourceRecord{Value: aws.String(d)})
	}
	return set
}

// held returns the owner record set at owner as read, with owner as its
// name, if it is exactly one simple TXT record of the text held.
func (z zoneRead) held(owner, held string) (types.ResourceRecordSet, error) {
	sets := z[owner][types.RRTypeTxt]
	if len(sets) != 1 || sets[0].SetIdentifier != nil || len(sets[0].ResourceRecords) != 1 {
		return types.ResourceRecordSet{}, fmt.Errorf("the last read has not the owner record %q, which the plan was made from: %w", held, dnssync.ErrConflict)
	}
	text, err := parseTXT(aws.ToString(sets[0].ResourceRecords[0].Value))
	if err != nil || !slices.Equal(text, []string{held}) {
		return types.ResourceRecordSet{}, fmt.Errorf("the last read has not the owner record %q, which the plan was made from: %w", held, dnssync.ErrConflict)
	}
	set := sets[0]
	set.Name = aws.String(owner)
	return set, nil
}

// record makes z what the zone is after Route 53 applied changes, so that
// it still holds what a later DELETE must repeat.
func (z zoneRead) record(changes []types.Change) {
	if z == nil {
		return
	}
	for _, c := range changes {
		set := *c.ResourceRecordSet
		name := canonical(aws.ToString(set.Name))
		kept := slices.DeleteFunc(z[name][set.Type], func(s types.ResourceRecordSet) bool {
			return aws.ToString(s.SetIdentifier) == aws.ToString(set.SetIdentifier)
		})
		if c.Action != types.ChangeActionDelete {
			kept = append(kept, set)
		}
		switch {
		case len(kept) > 0:
			if z[name] == nil {
				z[name] = map[types.RRType][]types.ResourceRecordSet{}
			}
			z[name][set.Type] = kept
		case z[name] != nil:
			delete(z[name], set.Type)
			if len(z[name]) == 0 {
				delete(z, name)
			}
		}
	}
}

// batch is the units of one request.
type batch []unit

func (b batch) changes() []types.Change {
	var out []types.Change
	for _, u := range b {
		out = append(out, u.changes...)
	}
	return out
}

// comment is the request's comment, which Route 53 keeps with the change:
// what it does, by op (at most 256 characters).
func (b batch) comment() string {
	var ch dnssync.Changes
	for _, u := range b {
		ch.Names = append(ch.Names, u.change)
	}
	return "ingress-controller: " + ch.Summary()
}

// names lists the names of a batch, the first few of a long one.
func (b batch) names() string {
	const shown = 3
	var names []string
	for _, u := range b[:min(len(b), shown)] {
		names = append(names, u.change.Name)
	}
	if len(b) > shown {
		names = append(names, fmt.Sprintf("and %d more", len(b)-shown))
	}
	return strings.Join(names, ", ")
}

// pack puts units in requests, in order, each as full as lim allows. A
// unit larger than one request is an error, before anything is sent.
func pack(units []unit, lim limits) ([]batch, error) {
	var out []batch
	var cur batch
	records, chars := 0, 0
	for _, u := range units {
		if u.records > lim.records || u.chars > lim.chars {
			return nil, fmt.Errorf("%s: the change has %d records and %d characters of values, more than one Route 53 request may hold (%d and %d)",
				u.change.Name, u.records, u.chars, lim.records, lim.chars)
		}
		if len(cur) > 0 && (records+u.records > lim.records || chars+u.chars > lim.chars) {
			out = append(out, cur)
			cur, records, chars = nil, 0, 0
		}
		cur = append(cur, u)
		records += u.records
		chars += u.chars
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}
