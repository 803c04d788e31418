package builtin

import "net/http"

// closeIfFramingAmbiguous asks net/http to close the client connection
// after the response to r when RFC 9112 (section 6.1) says a server must,
// so that bytes a front proxy took for r's body are never read here as
// the next request.
//
// The rule is about requests with both Content-Length and
// Transfer-Encoding, and about HTTP/1.0 requests with Transfer-Encoding.
// net/http deletes both fields before a handler runs (and ignores
// Transfer-Encoding in HTTP/1.0, reading the chunks as the next request),
// so a handler cannot tell those requests from others. What it can see is
// a superset: every HTTP/1.1 request with a chunked body, and every
// HTTP/1.0 request. Both are rare (browsers stream request bodies over
// HTTP/2 only, and keep-alive is an extension in HTTP/1.0); their
// clients pay one new connection for the next request.
func closeIfFramingAmbiguous(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && (r.ProtoMinor == 0 || len(r.TransferEncoding) > 0) {
		w.Header().Set("Connection", "close")
	}
}
