package route53

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"ingress-controller/internal/dnssync"
)

// The kinds of errors that something other than the zone's content causes,
// for callers that tell them apart; each wraps the SDK's error, if any.
var (
	// ErrCredentials says there are no AWS credentials, or Route 53
	// rejected them: an unknown key, a wrong secret, an expired session.
	ErrCredentials = errors.New("AWS credentials missing or rejected")
	// ErrAccessDenied says the IAM policy of the credentials does not
	// allow a call on the hosted zone.
	ErrAccessDenied = errors.New("access denied")
	// ErrHostedZone says the hosted zone does not exist, is not the zone's,
	// or cannot be told apart by name from another of the same name.
	ErrHostedZone = errors.New("no hosted zone for the zone")
	// ErrThrottled says Route 53 still throttled the request after every
	// retry.
	ErrThrottled = errors.New("throttled")
)

// conflictMessages are the parts of InvalidChangeBatch messages that say a
// precondition failed: the zone is not as the plan read it.
var conflictMessages = []string{
	"but it already exists",        // CREATE of a set that exists
	"but it was not found",         // DELETE of a set that does not
	"values provided do not match", // DELETE of a set that changed
	"because a conflicting rrset",  // a CNAME beside another record
}

// credentialErrors are the codes with which AWS rejects a signature or the
// key that made it.
var credentialErrors = map[string]bool{
	"SignatureDoesNotMatch":       true,
	"IncompleteSignature":         true,
	"InvalidClientTokenId":        true,
	"UnrecognizedClientException": true,
	"MissingAuthenticationToken":  true,
	"InvalidSignatureException":   true,
	"ExpiredToken":                true,
	"ExpiredTokenException":       true,
	"RequestExpired":              true,
}

// explain returns err, from a request about zone (hosted zone id, if known),
// wrapped with what to do about it: a refused change batch that says the
// zone changed wraps dnssync.ErrConflict; rejected credentials, a missing
// permission and a missing hosted zone say what to fix.
func (b *Backend) explain(err error, zone, id string) error {
	var batch *types.InvalidChangeBatch
	if errors.As(err, &batch) {
		msgs := batch.Messages
		if len(msgs) == 0 {
			msgs = []string{batch.ErrorMessage()}
		}
		text := strings.Join(msgs, "; ")
		for _, m := range msgs {
			for _, c := range conflictMessages {
				if strings.Contains(strings.ToLower(m), c) {
					return fmt.Errorf("%w: Route 53 refused the change: %s", dnssync.ErrConflict, text)
				}
			}
		}
		return fmt.Errorf("Route 53 refused the change: %s: %w", text, err)
	}

	var api smithy.APIError
	if !errors.As(err, &api) {
		return err
	}
	op := "the request"
	var opErr *smithy.OperationError
	if errors.As(err, &opErr) {
		op = "route53:" + opErr.Operation()
	}
	code := api.ErrorCode()
	switch {
	case code == "AccessDenied" || code == "AccessDeniedException":
		resource := "arn:aws:route53:::hostedzone/" + id
		if id == "" {
			resource = "* (or set the hosted zone id)"
		}
		return fmt.Errorf("%w: the IAM policy of these credentials must allow %s on %s: %w", ErrAccessDenied, op, resource, err)
	case code == "NoSuchHostedZone":
		b.forget(zone)
		return fmt.Errorf("%w: hosted zone %s of %s does not exist, or not in the account of these credentials: check the hosted zone id: %w", ErrHostedZone, id, zone, err)
	case credentialErrors[code]:
		return fmt.Errorf("%w: Route 53 rejected them (%s): check the access key id, the secret key, the session token and the clock: %w", ErrCredentials, code, err)
	case code == "Throttling" || code == "PriorRequestNotComplete":
		return fmt.Errorf("%w: Route 53 refused every attempt: the account sends it more than the 5 requests a second it takes, from this controller or others: %w", ErrThrottled, err)
	}
	return err
}
