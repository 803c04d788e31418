package route53

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRoute53 is the part of Amazon Route 53 the Backend uses, on
// 127.0.0.1, speaking its REST-XML protocol (API version 2013-04-01) as the
// SDK's serializers and deserializers and Route 53's documentation describe
// it: ListHostedZonesByName, ListResourceRecordSets (a few record sets a
// page) and ChangeResourceRecordSets (a whole batch or nothing). Every
// request must carry a valid SigV4 signature of the test's credentials.
type fakeRoute53 struct {
	t      *testing.T
	srv    *httptest.Server
	verify sigv4
	// pageSize is the most record sets a ListResourceRecordSets page holds.
	pageSize int

	mu    sync.Mutex
	zones []*fakeZone
	// requests counts the requests to each operation, by its name, failed
	// and unsigned ones included.
	requests map[string]int
	// failures are answers given instead of the next requests to an
	// operation ("" for any).
	failures []fakeFailure
	// beforeChange runs once, before the next change batch is applied:
	// someone else's change between the Backend's read and its apply.
	beforeChange func(f *fakeRoute53)
	// batches are the change batches applied, in order.
	batches [][]xmlChange
}

type fakeFailure struct {
	op     string
	status int
	code   string
}

type fakeZone struct {
	id, name string
	private  bool
	sets     []fakeSet
}

// fakeSet is a record set as the fake stores it: its name unescaped and
// lower-case, its values as they were written.
type fakeSet struct {
	name, typ string
	ttl       int64
	values    []string
	setID     string
	alias     string
}

const r53ns = "https://route53.amazonaws.com/doc/2013-04-01/"

type xmlSet struct {
	Name          string      `xml:"Name"`
	Type          string      `xml:"Type"`
	SetIdentifier string      `xml:"SetIdentifier,omitempty"`
	Weight        *int64      `xml:"Weight,omitempty"`
	TTL           *int64      `xml:"TTL,omitempty"`
	Records       []xmlRecord `xml:"ResourceRecords>ResourceRecord"`
	AliasTarget   *xmlAlias   `xml:"AliasTarget,omitempty"`
}

type xmlRecord struct {
	Value string `xml:"Value"`
}

type xmlAlias struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type xmlChange struct {
	Action string `xml:"Action"`
	Set    xmlSet `xml:"ResourceRecordSet"`
}

type xmlChangeRequest struct {
	XMLName xml.Name    `xml:"ChangeResourceRecordSetsRequest"`
	Comment string      `xml:"ChangeBatch>Comment"`
	Changes []xmlChange `xml:"ChangeBatch>Changes>Change"`
}

type xmlChangeResponse struct {
	XMLName    xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeResourceRecordSetsResponse"`
	ChangeInfo struct {
		ID          string `xml:"Id"`
		Status      string `xml:"Status"`
		SubmittedAt string `xml:"SubmittedAt"`
		Comment     string `xml:"Comment,omitempty"`
	} `xml:"ChangeInfo"`
}

type xmlListSets struct {
	XMLName              xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
	Sets                 []xmlSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool     `xml:"IsTruncated"`
	MaxItems             string   `xml:"MaxItems"`
	NextRecordName       string   `xml:"NextRecordName,omitempty"`
	NextRecordType       string   `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string   `xml:"NextRecordIdentifier,omitempty"`
}

type xmlHostedZone struct {
	ID              string `xml:"Id"`
	Name            string `xml:"Name"`
	CallerReference string `xml:"CallerReference"`
	Config          struct {
		PrivateZone bool `xml:"PrivateZone"`
	} `xml:"Config"`
	ResourceRecordSetCount int `xml:"ResourceRecordSetCount"`
}

type xmlListZones struct {
	XMLName          xml.Name        `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesByNameResponse"`
	HostedZones      []xmlHostedZone `xml:"HostedZones>HostedZone"`
	DNSName          string          `xml:"DNSName,omitempty"`
	IsTruncated      bool            `xml:"IsTruncated"`
	MaxItems         string          `xml:"MaxItems"`
	NextDNSName      string          `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string          `xml:"NextHostedZoneId,omitempty"`
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

type xmlInvalidChangeBatch struct {
	XMLName   xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ InvalidChangeBatch"`
	Messages  []string `xml:"Messages>Message"`
	RequestID string   `xml:"RequestId"`
}

// newFake starts a fake with the hosted zones, each holding an SOA and an
// NS record at its apex.
func newFake(t *testing.T, zones ...*fakeZone) *fakeRoute53 {
	f := &fakeRoute53{
		t:        t,
		verify:   sigv4{accessKey: testKey, secretKey: testSecret, region: DefaultRegion, service: "route53", now: time.Now},
		pageSize: 4,
		zones:    zones,
		requests: map[string]int{},
	}
	for _, z := range zones {
		z.sets = append(z.sets,
			fakeSet{name: z.name, typ: "SOA", ttl: 900, values: []string{"ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}},
			fakeSet{name: z.name, typ: "NS", ttl: 172800, values: []string{"ns-1.awsdns-00.com.", "ns-2.awsdns-00.net."}},
		)
		z.sort()
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRoute53) zone(id string) *fakeZone {
	for _, z := range f.zones {
		if z.id == id {
			return z
		}
	}
	return nil
}

// put adds or replaces a record set, as someone else would with the
// console.
func (f *fakeRoute53) put(zoneID string, s fakeSet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.zone(zoneID).putLocked(s)
}

func (z *fakeZone) putLocked(s fakeSet) {
	s.name = strings.ToLower(s.name)
	if i := z.find(s.name, s.typ, s.setID); i >= 0 {
		z.sets[i] = s
	} else {
		z.sets = append(z.sets, s)
	}
	z.sort()
}

// snapshot returns a zone's record sets, sorted as Route 53 lists them.
func (f *fakeRoute53) snapshot(zoneID string) []fakeSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.zone(zoneID).sets)
	for i := range out {
		out[i].values = slices.Clone(out[i].values)
	}
	return out
}

func (f *fakeRoute53) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[op]
}

// fail makes the next n requests to op ("" for any) fail with status and
// code.
func (f *fakeRoute53) fail(op string, n, status int, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.failures = append(f.failures, fakeFailure{op: op, status: status, code: code})
	}
}

// sortKey orders record sets as Route 53 lists them: by name with its
// labels reversed, then type, then set identifier.
func sortKey(name, typ, setID string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "\x00" + typ + "\x00" + setID
}

func (z *fakeZone) sort() {
	slices.SortFunc(z.sets, func(a, b fakeSet) int {
		return strings.Compare(sortKey(a.name, a.typ, a.setID), sortKey(b.name, b.typ, b.setID))
	})
}

func (z *fakeZone) find(name, typ, setID string) int {
	return slices.IndexFunc(z.sets, func(s fakeSet) bool { return s.name == name && s.typ == typ && s.setID == setID })
}

// escapeName writes a name as Route 53 returns it: every byte but a-z, 0-9,
// "-", "_" and "." as a backslash and three octal digits.
func escapeName(name string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	return b.String()
}

// fakeName returns a name written in a request as the fake stores it:
// escapes decoded, lower-case, absolute.
func fakeName(name string) string { return canonical(name) }

func (s fakeSet) xml() xmlSet {
	x := xmlSet{Name: escapeName(s.name), Type: s.typ, SetIdentifier: s.setID}
	if s.alias != "" {
		x.AliasTarget = &xmlAlias{HostedZoneID: "Z2FDTNDATAQYW2", DNSName: s.alias}
	} else {
		x.TTL = &s.ttl
	}
	if s.setID != "" {
		x.Weight = new(int64(1))
	}
	for _, v := range s.values {
		x.Records = append(x.Records, xmlRecord{Value: v})
	}
	return x
}

func (f *fakeRoute53) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake Route 53: read body: %v", err)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/2013-04-01/")
	if !ok {
		f.errorResponse(w, http.StatusNotFound, "UnknownOperation", "no API version in "+r.URL.Path)
		return
	}
	parts := strings.Split(strings.TrimSuffix(path, "/"), "/")
	var op string
	switch {
	case r.Method == http.MethodGet && path == "hostedzonesbyname":
		op = "ListHostedZonesByName"
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && r.Method == http.MethodGet:
		op = "ListResourceRecordSets"
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && r.Method == http.MethodPost:
		op = "ChangeResourceRecordSets"
	default:
		f.t.Errorf("fake Route 53: unexpected request %s %s", r.Method, r.URL)
		f.errorResponse(w, http.StatusBadRequest, "InvalidAction", "unknown operation "+r.Method+" "+r.URL.Path)
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[op]++
	if code, msg := f.verify.check(r, body); code != "" {
		f.errorResponse(w, http.StatusForbidden, code, msg)
		return
	}
	if i := slices.IndexFunc(f.failures, func(x fakeFailure) bool { return x.op == "" || x.op == op }); i >= 0 {
		x := f.failures[i]
		f.failures = slices.Delete(f.failures, i, i+1)
		f.errorResponse(w, x.status, x.code, "injected by the test")
		return
	}
	switch op {
	case "ListHostedZonesByName":
		f.listZones(w, r)
	case "ListResourceRecordSets":
		f.listSets(w, r, parts[1])
	case "ChangeResourceRecordSets":
		f.change(w, body, parts[1])
	}
}

func (f *fakeRoute53) listZones(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	maxItems := 100
	if m := q.Get("maxitems"); m != "" {
		maxItems, _ = strconv.Atoi(m)
	}
	zones := slices.Clone(f.zones)
	slices.SortFunc(zones, func(a, b *fakeZone) int {
		return cmp.Or(strings.Compare(sortKey(a.name, "", ""), sortKey(b.name, "", "")), strings.Compare(a.id, b.id))
	})
	start := 0
	if d := q.Get("dnsname"); d != "" {
		from := sortKey(fakeName(d), "", "")
		start = slices.IndexFunc(zones, func(z *fakeZone) bool { return sortKey(z.name, "", "") >= from })
		if start < 0 {
			start = len(zones)
		}
	}
	out := xmlListZones{DNSName: q.Get("dnsname"), MaxItems: strconv.Itoa(maxItems)}
	end := min(start+maxItems, len(zones))
	for _, z := range zones[start:end] {
		hz := xmlHostedZone{ID: "/hostedzone/" + z.id, Name: escapeName(z.name), CallerReference: "test-" + z.id, ResourceRecordSetCount: len(z.sets)}
		hz.Config.PrivateZone = z.private
		out.HostedZones = append(out.HostedZones, hz)
	}
	if end < len(zones) {
		out.IsTruncated = true
		out.NextDNSName = escapeName(zones[end].name)
		out.NextHostedZoneID = zones[end].id
	}
	f.xmlResponse(w, http.StatusOK, out)
}

func (f *fakeRoute53) listSets(w http.ResponseWriter, r *http.Request, id string) {
	z := f.zone(id)
	if z == nil {
		f.errorResponse(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	q := r.URL.Query()
	maxItems := 300
	if m := q.Get("maxitems"); m != "" {
		maxItems, _ = strconv.Atoi(m)
	}
	n := min(maxItems, f.pageSize)
	start := 0
	if name := q.Get("name"); name != "" {
		from := sortKey(fakeName(name), q.Get("type"), q.Get("identifier"))
		start = slices.IndexFunc(z.sets, func(s fakeSet) bool { return sortKey(s.name, s.typ, s.setID) >= from })
		if start < 0 {
			start = len(z.sets)
		}
	} else if q.Get("type") != "" {
		f.errorResponse(w, http.StatusBadRequest, "InvalidInput", "type without name")
		return
	}
	out := xmlListSets{MaxItems: strconv.Itoa(maxItems)}
	end := min(start+n, len(z.sets))
	for _, s := range z.sets[start:end] {
		out.Sets = append(out.Sets, s.xml())
	}
	if end < len(z.sets) {
		next := z.sets[end]
		out.IsTruncated = true
		out.NextRecordName = escapeName(next.name)
		out.NextRecordType = next.typ
		out.NextRecordIdentifier = next.setID
	}
	f.xmlResponse(w, http.StatusOK, out)
}

// change applies a change batch as Route 53 does: every change in order on
// a copy of the zone, and the copy kept only if none failed.
func (f *fakeRoute53) change(w http.ResponseWriter, body []byte, id string) {
	var req xmlChangeRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		f.errorResponse(w, http.StatusBadRequest, "MalformedXML", err.Error())
		return
	}
	z := f.zone(id)
	if z == nil {
		f.errorResponse(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	if len(req.Changes) == 0 {
		f.errorResponse(w, http.StatusBadRequest, "InvalidInput", "the change batch has no change")
		return
	}
	if hook := f.beforeChange; hook != nil {
		f.beforeChange = nil
		hook(f)
	}

	work := &fakeZone{id: z.id, name: z.name, sets: slices.Clone(z.sets)}
	var msgs []string
	seen := map[string][]string{}
	touched := map[string]bool{}
	for _, c := range req.Changes {
		s := fakeSet{name: fakeName(c.Set.Name), typ: c.Set.Type, setID: c.Set.SetIdentifier}
		for _, rec := range c.Set.Records {
			s.values = append(s.values, rec.Value)
		}
		if c.Set.TTL != nil {
			s.ttl = *c.Set.TTL
		}
		ref := fmt.Sprintf("[name='%s', type='%s']", escapeName(s.name), s.typ)
		key := sortKey(s.name, s.typ, s.setID)
		if prev := seen[key]; len(prev) > 0 && !(len(prev) == 1 && prev[0] == "DELETE" && c.Action == "CREATE") {
			msgs = append(msgs, fmt.Sprintf("The request contains an invalid set of changes for a resource record set '%s %s'", s.typ, escapeName(s.name)))
			continue
		}
		seen[key] = append(seen[key], c.Action)
		touched[s.name] = true
		if msg := validate(s, z.name); msg != "" && c.Action != "DELETE" {
			msgs = append(msgs, msg)
			continue
		}
		i := work.find(s.name, s.typ, s.setID)
		switch c.Action {
		case "CREATE":
			if i >= 0 {
				msgs = append(msgs, "Tried to create resource record set "+ref+" but it already exists")
				continue
			}
			work.putLocked(s)
		case "UPSERT":
			work.putLocked(s)
		case "DELETE":
			switch {
			case i < 0:
				msgs = append(msgs, "Tried to delete resource record set "+ref+" but it was not found")
				continue
			case work.sets[i].ttl != s.ttl || !sameValues(work.sets[i].values, s.values):
				msgs = append(msgs, "Tried to delete resource record set "+ref+" but the values provided do not match the current values")
				continue
			}
			work.sets = slices.Delete(work.sets, i, i+1)
		default:
			f.errorResponse(w, http.StatusBadRequest, "InvalidInput", "unknown action "+c.Action)
			return
		}
	}
	for _, name := range slices.Sorted(maps.Keys(touched)) {
		var types []string
		for _, s := range work.sets {
			if s.name == name {
				types = append(types, s.typ)
			}
		}
		if slices.Contains(types, "CNAME") && len(types) > 1 {
			other := types[slices.IndexFunc(types, func(t string) bool { return t != "CNAME" })]
			msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted because a conflicting RRSet of type %s with the same DNS name already exists.", escapeName(name), other))
		}
	}
	if len(msgs) > 0 {
		f.xmlResponse(w, http.StatusBadRequest, xmlInvalidChangeBatch{Messages: msgs, RequestID: "fake-request"})
		return
	}
	z.sets = work.sets
	f.batches = append(f.batches, req.Changes)
	var out xmlChangeResponse
	out.ChangeInfo.ID = fmt.Sprintf("/change/C%05d", len(f.batches))
	out.ChangeInfo.Status = "PENDING"
	out.ChangeInfo.SubmittedAt = time.Now().UTC().Format(time.RFC3339)
	out.ChangeInfo.Comment = req.Comment
	f.xmlResponse(w, http.StatusOK, out)
}

// validate returns why Route 53 would refuse to write s in zone, or "".
func validate(s fakeSet, zone string) string {
	if s.name != zone && !strings.HasSuffix(s.name, "."+zone) {
		return fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", escapeName(s.name), zone)
	}
	if len(s.values) == 0 {
		return "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change"
	}
	for _, v := range s.values {
		var ok bool
		switch s.typ {
		case "A":
			a, err := netip.ParseAddr(v)
			ok = err == nil && a.Is4()
		case "AAAA":
			a, err := netip.ParseAddr(v)
			ok = err == nil && a.Is6()
		case "TXT":
			_, err := parseTXT(v)
			ok = err == nil
		default:
			ok = v != ""
		}
		if !ok {
			return fmt.Sprintf("[Invalid Resource Record: 'FATAL problem: %sRRDATAIllegal (Value is not valid for %s) encountered with '%s'']", s.typ, s.typ, v)
		}
	}
	return ""
}

func sameValues(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func (f *fakeRoute53) xmlResponse(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		f.t.Errorf("fake Route 53: encode %T: %v", v, err)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "fake-request")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (f *fakeRoute53) errorResponse(w http.ResponseWriter, status int, code, msg string) {
	var e xmlErrorResponse
	e.Error.Type = "Sender"
	if status >= 500 {
		e.Error.Type = "Receiver"
	}
	e.Error.Code = code
	e.Error.Message = msg
	e.RequestID = "fake-request"
	f.xmlResponse(w, status, e)
}
