// Package dnssync keeps the DNS records of the names a controller owns
// equal to a desired state, and never touches a name someone else holds.
//
// It is the core of DNS publishing: the leader keeps, per load balancer, an
// FQDN whose A and AAAA records are the load balancer's live addresses (or
// a CNAME, for hosts published as aliases). Plan is pure: from the records a
// zone holds and the desired state it computes the changes, and reports as
// data the desired names that someone else holds (Conflicts) and the entries
// that cannot be published (Invalid). A Syncer reads through a Backend,
// plans, applies, and plans once more if the zone changed in between.
// Backends live in subpackages: rfc2136 for BIND and any server that takes
// dynamic updates, route53 for Amazon Route 53.
//
// # Ownership
//
// Beside each name N it owns, the controller keeps one TXT record at
// _ic-owner.N with the text
//
//	heritage=ingress-controller,owner=<owner id>
//
// This is external-dns's TXT registry with a prefix. The record cannot be at
// N itself, as external-dns first put it, because a CNAME shares its name
// with no other record; external-dns's later "a-N" and "cname-N" names
// lengthen the first label and can be real host names. An underscore label
// (RFC 8552) is no host's, works at the zone apex and for a wildcard N
// (_ic-owner.*.N; BIND warns about the non-terminal "*" and serves it), and
// costs 10 bytes of the 253 a name may have.
//
// A controller owns N when the TXT records at _ic-owner.N are exactly one,
// of heritage ingress-controller and its owner id. At an owned name it
// writes A, AAAA and CNAME records and leaves every other type alone. A
// desired name that is not owned is claimed only if neither it nor its
// owner name holds any record; otherwise it is a Conflict: someone created
// it by hand, or another controller (another owner id) owns it. To hand an
// existing name to a controller, create its owner record by hand. An owned
// name that is no longer desired goes with its owner record; one whose
// desired entry is invalid stays as it is, so a bad input never unpublishes
// a name.
//
// # Update protocol
//
// Each Change is a compare-and-swap of one name, applied whole or not at
// all. Its precondition is what the plan was made from: for Create, that
// neither N nor _ic-owner.N is in use (RFC 2136 §2.4.5, "Name Is Not In
// Use"); for Update and Delete, that the TXT records at _ic-owner.N are
// exactly the owner record read (§2.4.2, "RRset Exists, Value Dependent").
// The rfc2136 backend sends all changes of a plan in one UPDATE message,
// signed with TSIG, which the server applies atomically (in as few as hold
// them, each with whole changes, only when they exceed the 64 KiB of one
// message). If a precondition fails, nothing of that message is applied and
// Apply returns ErrConflict: someone changed an owner record, or claimed a
// name, since the read. Sync then reads and plans again, once; two
// controllers racing for a free name thus end with one owner and one
// Conflict.
package dnssync
