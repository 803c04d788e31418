package route53

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"ingress-controller/internal/dnssync"
)

// Defaults of Options.
const (
	// DefaultRegion signs the requests: Route 53 is global, and its
	// endpoint in the aws partition is signed for us-east-1.
	DefaultRegion = "us-east-1"
	// DefaultMaxAttempts and DefaultMaxBackoff let a throttled request wait
	// about a minute in all before it fails; Route 53 allows five requests
	// a second per account, shared with every other client of the account.
	DefaultMaxAttempts = 10
	DefaultMaxBackoff  = 20 * time.Second
)

// Options say which hosted zone to change and how to reach Route 53.
type Options struct {
	// HostedZoneID is the id of the hosted zone, "Z0123…" or
	// "/hostedzone/Z0123…". Empty finds it by the zone's name with
	// ListHostedZonesByName, which must then name exactly one hosted zone
	// the credentials can see: set it when a public and a private hosted
	// zone share the name.
	HostedZoneID string
	// Region the requests are signed for; empty means DefaultRegion. Only
	// other partitions need another: cn-northwest-1, us-gov-west-1.
	Region string
	// Endpoint replaces Route 53's endpoint (the SDK's BaseEndpoint), as a
	// URL: a test's fake, or a VPC endpoint.
	Endpoint string
	// Config holds the credentials and the HTTP client. Nil loads them as
	// the SDK does by default (config.LoadDefaultConfig): the AWS_*
	// environment variables, the shared config and credentials files and
	// their profile, a web identity token (IRSA on EKS), the container's
	// or the instance's role.
	Config *aws.Config
	// MaxAttempts and MaxBackoff bound the retries of a throttled or failed
	// request; 0 means DefaultMaxAttempts and DefaultMaxBackoff. The
	// context bounds them as well.
	MaxAttempts int
	MaxBackoff  time.Duration
}

// Backend is a dnssync.Backend on an Amazon Route 53 hosted zone.
type Backend struct {
	client      *route53.Client
	credentials aws.CredentialsProvider
	// zoneID is Options.HostedZoneID, without its "/hostedzone/".
	zoneID string
	limits limits

	mu sync.Mutex
	// zoneIDs are the hosted zones found by name.
	zoneIDs map[string]string
	// reads are the record sets of each zone's last Read, which Apply's
	// DELETEs repeat.
	reads map[string]zoneRead
}

var _ dnssync.Backend = (*Backend)(nil)

// zoneRead is the record sets of a zone by name, unescaped, lower-case and
// absolute, and type.
type zoneRead map[string]map[types.RRType][]types.ResourceRecordSet

func (z zoneRead) add(name string, set types.ResourceRecordSet) {
	if z[name] == nil {
		z[name] = map[types.RRType][]types.ResourceRecordSet{}
	}
	z[name][set.Type] = append(z[name][set.Type], set)
}

// New returns a Backend that changes Route 53 as opts say. It sends no
// request: missing credentials show in the first Read.
func New(ctx context.Context, opts Options) (*Backend, error) {
	var cfg aws.Config
	if opts.Config != nil {
		cfg = opts.Config.Copy()
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("route53: load the AWS configuration: %w", err)
		}
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("route53: %w: the AWS configuration has no credentials provider", ErrCredentials)
	}
	// The client and Backend.credentials share one cache.
	if !aws.IsCredentialsProvider(cfg.Credentials, (*aws.CredentialsCache)(nil)) {
		cfg.Credentials = aws.NewCredentialsCache(cfg.Credentials)
	}
	retryer := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = cmp.Or(opts.MaxAttempts, DefaultMaxAttempts)
		o.MaxBackoff = cmp.Or(opts.MaxBackoff, DefaultMaxBackoff)
		// The default retry quota, shared by every request of the client,
		// turns retries into immediate failures after about a hundred
		// throttles; a controller that syncs again and again had better
		// keep backing off. Throttling is already retried: the SDK knows
		// Route 53's Throttling and PriorRequestNotComplete codes.
		o.RateLimiter = ratelimit.None
	})
	client := route53.NewFromConfig(cfg, func(o *route53.Options) {
		o.Region = cmp.Or(opts.Region, DefaultRegion)
		o.Retryer = retryer
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	return &Backend{
		client:      client,
		credentials: cfg.Credentials,
		zoneID:      hostedZoneID(opts.HostedZoneID),
		limits:      routeLimits,
		zoneIDs:     map[string]string{},
		reads:       map[string]zoneRead{},
	}, nil
}

// hostedZoneID strips the "/hostedzone/" Route 53 puts before an id.
func hostedZoneID(id string) string { return strings.TrimPrefix(id, "/hostedzone/") }

// canonical returns a name as Route 53 returns it unescaped, lower-case and
// absolute, as dnssync writes names.
func canonical(name string) string {
	n := strings.ToLower(unescapeName(name))
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// Read returns the records of zone: every value of every record set, with
// TXT strings unquoted and names unescaped. An alias record set is one
// record of its type without data, so that its name is in use.
func (b *Backend) Read(ctx context.Context, zone string) ([]dnssync.RR, error) {
	zone, err := dnssync.CanonicalZone(zone)
	if err != nil {
		return nil, err
	}
	if err := b.checkCredentials(ctx); err != nil {
		return nil, err
	}
	id, err := b.hostedZone(ctx, zone)
	if err != nil {
		return nil, err
	}
	read := zoneRead{}
	var rrs []dnssync.RR
	pages := route53.NewListResourceRecordSetsPaginator(b.client, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, b.explain(err, zone, id)
		}
		for _, set := range page.ResourceRecordSets {
			name := canonical(aws.ToString(set.Name))
			read.add(name, set)
			rrs = append(rrs, records(name, set)...)
		}
	}
	if read[zone][types.RRTypeSoa] == nil {
		return nil, fmt.Errorf("%w: hosted zone %s has no SOA record at %s: it is another zone's, check the hosted zone id", ErrHostedZone, id, zone)
	}
	b.mu.Lock()
	b.reads[zone] = read
	b.mu.Unlock()
	return rrs, nil
}

// records returns the records of a record set.
func records(name string, set types.ResourceRecordSet) []dnssync.RR {
	// A type Route 53 adds later is still a record that makes its name in
	// use: TYPE0 to the planner.
	t := rrTypes[set.Type]
	ttl := uint32(min(max(aws.ToInt64(set.TTL), 0), dnssync.MaxTTL))
	if len(set.ResourceRecords) == 0 {
		return []dnssync.RR{{Name: name, Type: t, TTL: ttl}}
	}
	out := make([]dnssync.RR, 0, len(set.ResourceRecords))
	for _, r := range set.ResourceRecords {
		v := aws.ToString(r.Value)
		rr := dnssync.RR{Name: name, Type: t, TTL: ttl}
		switch t {
		case dnssync.TypeA, dnssync.TypeAAAA:
			rr.Data = v
		case dnssync.TypeCNAME:
			rr.Data = canonical(v)
		case dnssync.TypeTXT:
			text, err := parseTXT(v)
			if err != nil {
				// Not one of ours, which parse; kept whole, it still
				// holds its name.
				text = []string{v}
			}
			rr.Text = text
		}
		out = append(out, rr)
	}
	return out
}

// checkCredentials gets the credentials the requests will be signed with,
// from the cache the client shares, so that their absence is an error that
// says where to put them rather than the SDK's chain of providers tried.
func (b *Backend) checkCredentials(ctx context.Context) error {
	if _, err := b.credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("%w: none found; give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
			"a profile in the shared credentials file, a web identity token (IRSA) or a role of the container or the instance: %w", ErrCredentials, err)
	}
	return nil
}

// hostedZone returns the id of the hosted zone of zone.
func (b *Backend) hostedZone(ctx context.Context, zone string) (string, error) {
	if b.zoneID != "" {
		return b.zoneID, nil
	}
	b.mu.Lock()
	id, ok := b.zoneIDs[zone]
	b.mu.Unlock()
	if ok {
		return id, nil
	}
	out, err := b.client.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{
		DNSName:  aws.String(zone),
		MaxItems: aws.Int32(2),
	})
	if err != nil {
		return "", b.explain(err, zone, "")
	}
	var ids []string
	for _, hz := range out.HostedZones {
		if canonical(aws.ToString(hz.Name)) == zone {
			ids = append(ids, hostedZoneID(aws.ToString(hz.Id)))
		}
	}
	if out.IsTruncated && canonical(aws.ToString(out.NextDNSName)) == zone {
		ids = append(ids, hostedZoneID(aws.ToString(out.NextHostedZoneId)))
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w: none named %s can be seen with these credentials: create it, or set the hosted zone id", ErrHostedZone, zone)
	case 1:
	default:
		return "", fmt.Errorf("%w: hosted zones %s are all named %s (a public and a private one?): set the hosted zone id", ErrHostedZone, strings.Join(ids, ", "), zone)
	}
	b.mu.Lock()
	b.zoneIDs[zone] = ids[0]
	b.mu.Unlock()
	return ids[0], nil
}

// forget drops a hosted zone id found by name, after Route 53 said it
// does not exist: the zone may have been made anew.
func (b *Backend) forget(zone string) {
	b.mu.Lock()
	delete(b.zoneIDs, zone)
	b.mu.Unlock()
}

// Apply sends the changes in one ChangeResourceRecordSets request, or in
// as few as Route 53's limits allow, each Change whole in one request. A
// request whose DELETE or CREATE fails applies nothing and makes Apply
// return ErrConflict after it has sent the others.
func (b *Backend) Apply(ctx context.Context, changes dnssync.Changes) error {
	if len(changes.Names) == 0 {
		return nil
	}
	zone, err := dnssync.CanonicalZone(changes.Zone)
	if err != nil {
		return err
	}
	if err := b.checkCredentials(ctx); err != nil {
		return err
	}
	id, err := b.hostedZone(ctx, zone)
	if err != nil {
		return err
	}
	b.mu.Lock()
	units, err := buildUnits(b.reads[zone], changes.Names)
	b.mu.Unlock()
	if err != nil {
		return err
	}
	batches, err := pack(units, b.limits)
	if err != nil {
		return err
	}
	var conflicts []error
	for i, batch := range batches {
		_, err := b.client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(id),
			ChangeBatch: &types.ChangeBatch{
				Comment: aws.String(batch.comment()),
				Changes: batch.changes(),
			},
		})
		if err != nil {
			err = b.explain(err, zone, id)
			if len(batches) > 1 {
				err = fmt.Errorf("request %d of %d (%s): %w", i+1, len(batches), batch.names(), err)
			}
			if !errors.Is(err, dnssync.ErrConflict) {
				return errors.Join(append(conflicts, err)...)
			}
			conflicts = append(conflicts, err)
			continue
		}
		b.mu.Lock()
		b.reads[zone].record(batch.changes())
		b.mu.Unlock()
	}
	return errors.Join(conflicts...)
}
