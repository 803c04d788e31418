package dnssync

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultTTL is the TTL of the records written when Desired.TTL is 0: short,
// because the addresses of a load balancer move when a replica dies.
const DefaultTTL = 60

// MaxTTL is the largest TTL RFC 2181 allows (the top bit is zero).
const MaxTTL = 1<<31 - 1

// Type is a DNS record type, by its number.
type Type uint16

// The types the planner manages (A, AAAA, CNAME) or reads ownership from (TXT).
const (
	TypeA     Type = 1
	TypeCNAME Type = 5
	TypeTXT   Type = 16
	TypeAAAA  Type = 28
)

// managedTypes are the record types at an owned name that the planner
// writes, in the order they are compared and reported.
var managedTypes = [...]Type{TypeA, TypeAAAA, TypeCNAME}

func (t Type) String() string {
	switch t {
	case TypeA:
		return "A"
	case TypeCNAME:
		return "CNAME"
	case TypeTXT:
		return "TXT"
	case TypeAAAA:
		return "AAAA"
	case 2:
		return "NS"
	case 6:
		return "SOA"
	case 15:
		return "MX"
	case 33:
		return "SRV"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// RR is one record of a zone as a Backend read it.
type RR struct {
	// Name is absolute; case does not matter.
	Name string
	Type Type
	TTL  uint32
	// Data is the address of an A or AAAA record or the target of a CNAME,
	// and empty for other types.
	Data string
	// Text is the strings of a TXT record.
	Text []string
}

// Desired is what a zone should hold for one owner.
type Desired struct {
	// Zone is the zone's apex, e.g. "example.test." (the dot is optional).
	Zone string
	// TTL of every record written; 0 means DefaultTTL.
	TTL uint32
	// Records are the names to own, each once.
	Records []Record
}

// Record is what one name should resolve to: addresses, or a CNAME target.
// Neither keeps the name owned, with no records.
type Record struct {
	// Name is absolute (the trailing dot is optional) and inside the zone.
	// A leftmost "*" label makes it a wildcard.
	Name string
	// Addresses become A and AAAA records.
	Addresses []netip.Addr
	// CNAME is the target the name is an alias of, instead of Addresses.
	CNAME string
}

// Op is what a Change does to a name.
type Op int

const (
	// Create claims a name that is not in use and writes its records and
	// its owner record.
	Create Op = iota + 1
	// Update changes the records of a name we own.
	Update
	// Delete removes the records of a name we own and its owner record.
	Delete
)

func (o Op) String() string {
	switch o {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Change is what happens to one name. A Backend applies a Change whole or
// not at all, and only under its precondition: for Create, that neither
// Name nor OwnerName(Name) is in use; for Update and Delete, that the TXT
// records at OwnerName(Name) are still exactly one with the text Held.
type Change struct {
	Op   Op
	Name string
	// Held is the text of the owner record as read (Update, Delete).
	Held string
	// Owner is the owner record's text to write at OwnerName(Name), in
	// place of Held (Create, and Update when Held or its TTL differs);
	// empty leaves the owner record as it is.
	Owner string
	// TTL is the TTL of the records in Set and of the owner record.
	TTL uint32
	// Remove are the types whose records at Name go. A Backend removes
	// them before it writes Set.
	Remove []Type
	// Set are record sets that replace all records of their type at Name.
	Set []RRset
}

// RRset is the data of the records of one type at one name.
type RRset struct {
	Type Type
	// Data are addresses or a CNAME target, sorted.
	Data []string
}

// Changes is the plan for one zone: what to change, and what was left alone
// and why.
type Changes struct {
	// Zone is the zone's apex, canonical.
	Zone string
	// Names are the changes, one per name, sorted by name.
	Names []Change
	// Conflicts are desired names held by someone else, left alone.
	Conflicts []Conflict
	// Invalid are desired entries that were skipped.
	Invalid []Invalid
}

// Conflict is a desired name that someone else holds.
type Conflict struct {
	Name string
	// Owner is the owner id of the other ingress-controller that holds
	// Name, if that is who it is.
	Owner  string
	Reason string
}

func (c Conflict) String() string { return fmt.Sprintf("%s: %s", c.Name, c.Reason) }

// Invalid is a desired entry, or the zone or owner id, that cannot be
// published. Name is empty when the problem is not one name's.
type Invalid struct {
	Name   string
	Reason string
}

func (i Invalid) String() string {
	if i.Name == "" {
		return i.Reason
	}
	return fmt.Sprintf("%s: %s", i.Name, i.Reason)
}

// Summary counts the changes by op, for a log line: "2 create, 1 delete".
func (c Changes) Summary() string {
	var n [Delete + 1]int
	for _, ch := range c.Names {
		n[ch.Op]++
	}
	var parts []string
	for op := Create; op <= Delete; op++ {
		if n[op] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[op], op))
		}
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}
