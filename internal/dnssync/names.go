package dnssync

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"ingress-controller/internal/clip"
)

// OwnerLabel is the label that, put before a name, names its owner record.
const OwnerLabel = "_ic-owner"

// heritage marks an owner record as one of ours, whatever its owner id.
const heritage = "ingress-controller"

// maxOwnerID keeps the owner record's text well inside one TXT string
// (255 bytes).
const maxOwnerID = 128

// OwnerName is the name of the TXT record that says who owns name.
func OwnerName(name string) string { return OwnerLabel + "." + name }

// OwnerText is the text of the owner records of owner.
func OwnerText(owner string) string { return "heritage=" + heritage + ",owner=" + owner }

// parseOwner returns the owner id of an owner record's text, and false if
// the text is not an ingress-controller owner record. Fields other than
// heritage and owner are allowed, so that a later version may add some.
func parseOwner(text string) (string, bool) {
	var her, owner string
	for _, f := range strings.Split(text, ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", false
		}
		switch k {
		case "heritage":
			her = v
		case "owner":
			owner = v
		}
	}
	if her != heritage || CheckOwnerID(owner) != nil {
		return "", false
	}
	return owner, true
}

// CheckOwnerID says why id cannot be an owner id. Owner ids tell apart
// controllers that share a zone: each must have its own and keep it.
func CheckOwnerID(id string) error {
	if id == "" {
		return errors.New("owner id is empty")
	}
	if len(id) > maxOwnerID {
		return fmt.Errorf("owner id is %d bytes long, more than %d", len(id), maxOwnerID)
	}
	for _, c := range []byte(id) {
		if !isLetterDigit(c) && !strings.ContainsRune("-._:/", rune(c)) {
			return fmt.Errorf("owner id %q: only letters, digits and - . _ : / are allowed", clip.Value(id))
		}
	}
	return nil
}

// CanonicalZone returns zone lower-case and absolute, or says why it is not
// a zone name.
func CanonicalZone(zone string) (string, error) {
	z, err := canonicalName(zone, false)
	if err != nil {
		return "", fmt.Errorf("zone %q: %w", clip.Value(zone), err)
	}
	return z, nil
}

// canonicalName returns name lower-case and absolute, or says why it is not
// a host name: letters, digits and hyphens, labels of 1 to 63 bytes that
// neither start nor end with a hyphen, at most 253 bytes without the last
// dot. With wildcard, the leftmost label may be "*".
func canonicalName(name string, wildcard bool) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if n == "" {
		return "", errors.New("empty name")
	}
	if len(n) > 253 {
		return "", fmt.Errorf("%d bytes long, more than 253", len(n))
	}
	for i, label := range strings.Split(n, ".") {
		if label == "*" && i == 0 && wildcard {
			continue
		}
		if err := checkLabel(label); err != nil {
			return "", err
		}
	}
	return n + ".", nil
}

func checkLabel(label string) error {
	switch {
	case label == "":
		return errors.New("empty label")
	case len(label) > 63:
		return fmt.Errorf("label %q is %d bytes long, more than 63", clip.Value(label), len(label))
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", label)
	}
	for _, c := range []byte(label) {
		if !isLetterDigit(c) && c != '-' {
			return fmt.Errorf("label %q: only letters, digits and hyphens are allowed", label)
		}
	}
	return nil
}

func isLetterDigit(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// inZone says whether the canonical name is zone or below it.
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// checkRecord returns r's name, canonical, and its record sets (each type
// in managedTypes, data sorted and unique), or every reason r cannot be
// published.
func checkRecord(r Record, zone string) (string, map[Type][]string, []string) {
	var problems []string
	name, err := canonicalName(r.Name, true)
	switch {
	case err != nil:
		problems = append(problems, "name: "+err.Error())
	case !inZone(name, zone):
		problems = append(problems, fmt.Sprintf("name is not in zone %s", zone))
	case len(OwnerName(name)) > 254:
		problems = append(problems, fmt.Sprintf("name is too long for its owner record %s", OwnerName(name)))
	}
	sets := map[Type][]string{}
	for _, a := range r.Addresses {
		a = a.Unmap()
		switch {
		case !a.IsValid():
			problems = append(problems, "an address is empty")
		case a.Zone() != "":
			problems = append(problems, fmt.Sprintf("address %s has a zone", a))
		case a.IsUnspecified() || a.IsMulticast():
			problems = append(problems, fmt.Sprintf("address %s is not a host's", a))
		case a.Is4():
			sets[TypeA] = append(sets[TypeA], a.String())
		default:
			sets[TypeAAAA] = append(sets[TypeAAAA], a.String())
		}
	}
	if r.CNAME != "" {
		target, err := canonicalName(r.CNAME, false)
		switch {
		case err != nil:
			problems = append(problems, "CNAME target: "+err.Error())
		case len(r.Addresses) > 0:
			problems = append(problems, "has both addresses and a CNAME target")
		case target == name:
			problems = append(problems, "CNAME target is the name itself")
		default:
			sets[TypeCNAME] = []string{target}
		}
	}
	for t, data := range sets {
		sets[t] = sortedUnique(data)
	}
	return name, sets, problems
}

// sortedUnique returns data sorted by sortData, each once.
func sortedUnique(data []string) []string {
	out := make([]string, 0, len(data))
	seen := map[string]bool{}
	for _, d := range data {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sortData(out)
	return out
}

// sortData sorts addresses by value (10.0.0.9 before 10.0.0.10) and
// anything else by text.
func sortData(data []string) {
	slices.SortFunc(data, func(a, b string) int {
		x, errX := netip.ParseAddr(a)
		y, errY := netip.ParseAddr(b)
		if errX == nil && errY == nil {
			return x.Compare(y)
		}
		return strings.Compare(a, b)
	})
}
