package route53

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sigv4 checks the AWS Signature Version 4 of requests as AWS documents it
// (the canonical request, the string to sign, the key derived from the
// secret), written from that description rather than with the SDK's signer,
// so that the two check each other.
type sigv4 struct {
	accessKey, secretKey, region, service string
	now                                   func() time.Time
}

// check returns "" if r, with body, is signed with the credentials, else an
// AWS error code and message.
func (v sigv4) check(r *http.Request, body []byte) (code, msg string) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "MissingAuthenticationToken", "Missing Authentication Token"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = val
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "IncompleteSignature", "Authorization header requires Credential, SignedHeaders and Signature: " + auth
	}
	if scope[0] != v.accessKey {
		return "InvalidClientTokenId", "The security token included in the request is invalid."
	}
	if scope[2] != v.region || scope[3] != v.service {
		return "SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to region %s and service %s, not %s and %s", v.region, v.service, scope[2], scope[3])
	}
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || amzDate[:8] != scope[1] {
		return "IncompleteSignature", "X-Amz-Date is missing or does not match the credential scope's date"
	}
	if d := v.now().Sub(at); d > 15*time.Minute || d < -15*time.Minute {
		return "RequestExpired", "Request has expired."
	}

	signed := strings.Split(fields["SignedHeaders"], ";")
	if !slices.IsSorted(signed) || !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") {
		return "SignatureDoesNotMatch", "SignedHeaders must be sorted and include host and x-amz-date"
	}
	var headers strings.Builder
	for _, h := range signed {
		var values []string
		switch h {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		default:
			values = r.Header.Values(h)
		}
		for i, val := range values {
			values[i] = strings.Join(strings.Fields(val), " ")
		}
		fmt.Fprintf(&headers, "%s:%s\n", h, strings.Join(values, ","))
	}

	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return "SignatureDoesNotMatch", "X-Amz-Content-Sha256 is not the body's SHA-256"
	}

	canonical := strings.Join([]string{
		r.Method,
		uriEncode(r.URL.EscapedPath(), false),
		canonicalQuery(r.URL.RawQuery),
		headers.String(),
		fields["SignedHeaders"],
		payload,
	}, "\n")
	crHash := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{
		"AWS4-HMAC-SHA256",
		amzDate,
		strings.Join(scope[1:], "/"),
		hex.EncodeToString(crHash[:]),
	}, "\n")
	key := []byte("AWS4" + v.secretKey)
	for _, part := range scope[1:] {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	}
	return "", ""
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalQuery sorts the query's parameters by name, then value, each
// URI-encoded.
func canonicalQuery(raw string) string {
	q, _ := url.ParseQuery(raw)
	var params [][2]string
	for k, vs := range q {
		for _, val := range vs {
			params = append(params, [2]string{uriEncode(k, true), uriEncode(val, true)})
		}
	}
	slices.SortFunc(params, func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	var out []string
	for _, p := range params {
		out = append(out, p[0]+"="+p[1])
	}
	return strings.Join(out, "&")
}

// uriEncode percent-encodes every byte but the unreserved ones, and "/"
// unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
