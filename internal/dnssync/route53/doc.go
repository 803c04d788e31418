// Package route53 is a dnssync.Backend on an Amazon Route 53 hosted zone,
// through the AWS SDK for Go v2, with its credentials from the SDK's
// default chain unless the caller gives an aws.Config.
//
// # Theory of operation
//
// Read lists the hosted zone's record sets (ListResourceRecordSets, page by
// page) and returns one dnssync.RR per value, names unescaped ("\052" is
// "*") and TXT strings unquoted. It also keeps the record sets it read:
// Route 53 deletes a record set only when a DELETE repeats it exactly, TTL
// and every value, and a dnssync.Change names only the types to remove
// and the owner text it holds.
//
// Apply turns each Change into Route 53 changes whose success is its
// precondition (see buildUnit): Update and Delete begin with a DELETE of
// the owner record exactly as read, Create CREATEs the owner record and
// the sets, and removals DELETE the sets as read. Route 53 applies a
// request whole or not at all, so a changed owner record, a name claimed
// meanwhile or a set changed since the read fails the request, with an
// InvalidChangeBatch error that Apply returns as dnssync.ErrConflict, and
// Sync reads and plans again. Apply expects the plan to be made from this
// Backend's last Read of the zone, as Sync does; a plan that does not
// match that read is an ErrConflict before anything is sent.
//
// Route 53 has no "name not in use" condition: a Create fails for the
// records it writes and for a TXT record at the owner name, but not for a
// record of another type, an MX say, put at the name after the read. The
// name is then owned beside that record, which is never touched.
//
// All changes of a plan go in one ChangeResourceRecordSets request when
// they fit Route 53's limits: 1,000 records and 32,000 characters of
// values, UPSERTs counted twice. A larger plan is split between requests,
// each Change whole in one. Each request is atomic, the plan is not: that
// is what dnssync.Backend asks for (each Change whole or not at all), and
// refusing would leave a zone of some three hundred names unpublishable.
// A request that conflicts does not stop the others; Apply returns
// ErrConflict when they have been sent. A Change too large for one request
// is an error before anything is sent.
//
// Requests are retried with exponential backoff and jitter, bounded by
// Options.MaxAttempts, Options.MaxBackoff and the context: throttling
// (Throttling, PriorRequestNotComplete, both HTTP 400), 5xx answers and
// broken connections. A retried ChangeResourceRecordSets that Route 53 had
// applied before failing finds its CREATEs existing and its DELETEs gone:
// an ErrConflict, after which Sync reads the applied changes and finds
// nothing left to do. Missing or rejected credentials, a missing IAM
// permission and a missing hosted zone are errors that say what to fix.
//
// Apply returns when Route 53 has accepted the changes (status PENDING);
// it does not wait with GetChange until they are INSYNC on every Route 53
// name server, which takes up to a minute: the next Read sees them, and the
// records are published a little later.
//
// Alias record sets and those with a routing policy (weighted, latency,
// failover…) are read as records of their type without data, so that
// their names are in use; the controller writes only simple record sets.
//
// # What the tests cover
//
// The tests run dnssync.Syncer over this Backend against a fake Route 53
// in the test process, on 127.0.0.1, speaking the REST-XML protocol of
// the three calls used (ListHostedZonesByName, ListResourceRecordSets,
// ChangeResourceRecordSets). The fake checks every request's SigV4
// signature with the test's static credentials and answers a bad one with
// 403 SignatureDoesNotMatch; pages record sets a few at a time; applies a
// change batch whole or not at all, refusing a CREATE of a set that exists,
// a DELETE of a set that does not or whose TTL or values differ, and a
// CNAME beside another record, with Route 53's InvalidChangeBatch answer;
// and can answer Throttling, PriorRequestNotComplete or 500 a number of
// times. Covered that way: creating, updating and deleting names (A, AAAA,
// CNAME and owner TXT); a name someone else made is left alone; two owner
// ids share a zone without touching each other's names; a change between
// Read and Apply is an ErrConflict and Sync plans again; one request per
// plan, and several when a plan exceeds the limits (lowered in the test);
// pagination; finding the hosted zone by name; retries of throttling and
// of a 500; wrong credentials, missing credentials and the default chain
// with credentials from the environment; TXT quoting and "\052" wildcards
// both ways.
//
// Not covered, for want of AWS: how the real service behaves where the
// fake is only a model of its documentation, such as the exact text of its
// error messages, how it stores and returns TXT values written by other
// tools, the order in which it applies a request's changes, and whether it
// accepts replacing an alias or weighted set by an UPSERT; IAM policies
// and the errors of a missing permission; eventual consistency and
// propagation (GetChange, INSYNC); the real rate limits and how the backoff
// fares against them; credentials from IRSA, SSO, containers and IMDS.
package route53
