// Package route53 is a dnssync.Backend on an Amazon Route 53 hosted zone,
// through the AWS SDK for Go v2, with the credentials of the SDK's default
// chain unless the caller gives an aws.Config.
//
// # Theory of operation
//
// Read lists the hosted zone's record sets (ListResourceRecordSets, page by
// page) and returns one dnssync.RR per value, names unescaped ("\052" is
// "*") and TXT strings unquoted. It also keeps the record sets it read:
// Route 53 deletes a record set only when a DELETE repeats it exactly, TTL
// and every value, and a dnssync.Change names only the types it removes
// and the owner text it holds.
//
// Apply turns each Change into Route 53 changes whose success is its
// precondition (see buildUnit): Update and Delete begin with a DELETE of
// the owner record exactly as read, and Update CREATEs it again after
// UPSERTs of the sets; Create CREATEs the owner record and the sets;
// removals DELETE the sets as read. Route 53 applies a request whole or
// not at all, so an owner record changed, a name claimed or a removed set
// changed since the read fails the request with InvalidChangeBatch, which
// Apply returns as dnssync.ErrConflict, and Sync reads and plans again.
// Apply expects the plan to be made from this Backend's last Read of the
// zone, as Sync does; a plan that does not match that read is an
// ErrConflict before anything is sent.
//
// Route 53 has no "name not in use" condition: a Create fails for the sets
// it writes, for a CNAME, and for a TXT record at the owner name, but not
// for a record of another type, an MX say, put at the name after the read.
// The name is then owned beside that record, which is never touched.
//
// All changes of a plan go in one ChangeResourceRecordSets request when
// they fit Route 53's limits: 1,000 records and 32,000 characters of
// values, UPSERTs counted twice. A larger plan is split between requests,
// each Change whole in one. Each request is atomic, the plan is not: that
// is what dnssync.Backend asks for (each Change whole or not at all), as
// rfc2136 does beyond 64 KiB, and refusing would leave a zone of a few
// hundred names unpublishable. A request that conflicts does not stop the
// others; Apply returns ErrConflict once all are sent. A Change too large
// for one request is an error before anything is sent.
//
// Requests are retried with exponential backoff and jitter, within
// Options.MaxAttempts, Options.MaxBackoff and the context: throttling
// (Throttling and PriorRequestNotComplete, with HTTP 400), 5xx answers and
// broken connections. A ChangeResourceRecordSets that Route 53 applied
// before its answer was lost is refused when retried, its CREATEs existing
// and its DELETEs gone: an ErrConflict, after which Sync reads the applied
// changes and finds nothing left to do. Missing or rejected credentials
// (ErrCredentials), a missing IAM permission (ErrAccessDenied), a missing
// or ambiguous hosted zone (ErrHostedZone) and throttling beyond the
// retries (ErrThrottled) are errors that say what to fix.
//
// Apply returns when Route 53 has accepted the changes (PENDING); it does
// not wait with GetChange until they are INSYNC on all of Route 53's name
// servers, which takes up to a minute: the next Read already lists them.
//
// Alias record sets are read as one record of their type without data, and
// sets with a routing policy (weighted, latency, failover…) as their
// records, so that their names are in use; the controller writes only
// simple record sets. A Backend is safe for concurrent use.
//
// # What the tests cover, and what they do not
//
// The tests run dnssync.Syncer over this Backend against a fake Route 53
// in the test process on 127.0.0.1, which speaks the REST-XML protocol of
// the three calls used (ListHostedZonesByName, ListResourceRecordSets,
// ChangeResourceRecordSets) as the SDK's serializers and deserializers
// read and write it. The fake checks each request's SigV4 signature with
// the test's static credentials, by a verifier written from AWS's
// description of the algorithm, and answers a bad one with 403
// SignatureDoesNotMatch or InvalidClientTokenId; lists a few record sets a
// page, names escaped; applies a change batch whole or not at all,
// refusing a CREATE of a set that exists, a DELETE of a set that does not
// or whose TTL or values differ, a CNAME beside another record and an
// invalid address with Route 53's InvalidChangeBatch answer; and answers
// Throttling, PriorRequestNotComplete, 500, AccessDenied or
// NoSuchHostedZone when told.
//
// Tested that way: names created (A, AAAA, CNAME, a wildcard, owner TXT),
// their addresses updated, turned into a CNAME, given another TTL and
// deleted, each Sync in one request; a name someone else made, and its MX,
// left alone; two owner ids sharing a zone without touching each other's
// names; an owner record taken, or a free name claimed, between Read and
// Apply: ErrConflict, nothing of the request applied, Sync plans again; a
// plan not made from the last Read refused unsent; pagination, one set a
// page across escaped wildcard names; alias and weighted sets holding their
// names; a plan split when it exceeds (lowered) limits, a conflict in one
// request leaving the others applied, a Change larger than a request
// refused unsent; the hosted zone found by name once, missing, ambiguous
// (public and private), or the id of another zone; throttling, a busy
// prior request and a 500 retried, retries ending with MaxAttempts or the
// context; a wrong secret and an unknown key rejected once, not retried;
// no credentials at all, and the default chain with credentials from the
// environment and from a profile of the shared credentials file; access
// denied and a missing hosted zone explained; a refusal that is not a
// conflict not reported as one; TXT quoting, unquoting (fuzzed both ways)
// and "\052" wildcards.
//
// Not tested, for want of AWS: the real service wherever the fake only
// models its documentation, notably the exact text of its
// InvalidChangeBatch messages (which decide what is a conflict), the
// format in which it stores and returns TXT values written by other tools
// and its octal escapes in them, the order in which it applies the changes
// of one request, whether an UPSERT may replace an alias or sit beside
// weighted sets, and its limits per request; IAM policies, and the errors
// of a missing permission for each call; eventual consistency and
// propagation (GetChange, INSYNC); the real rate limits and how the backoff
// fares under them; credentials from IRSA, SSO, a container or IMDS.
package route53
