package http

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// guardBody stands in front of every /api route and /mcp and deals with
// bodies that are wrong before any JSON is read:
//
//   - A Content-Length over MaxBodyBytes is refused with 413 at once,
//     before a byte of the body is read. The client is not kept waiting
//     until its body times out, and one that sent "Expect: 100-continue"
//     never gets "100 Continue" (net/http sends it only when the body is
//     first read) and so never sends the body at all. The connection is
//     closed after the answer, since the unread body is still on it.
//   - A body that cannot be read as HTTP — a malformed chunked encoding, a
//     connection cut mid-body — is a 400 that says so in fixed words; the
//     reader's own error (Go's internal text) goes to the log with the
//     request id, not to the client.
func (s *server) guardBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isMCP := r.URL.Path == mcpPath
		if !(strings.HasPrefix(r.URL.Path, "/api/") || isMCP) || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > s.maxBody {
			w.Header().Set("Connection", "close")
			s.writeProblem(w, r, errBodyTooLarge)
			return
		}
		body := r.Body
		if isMCP {
			// huma bounds the /api bodies; the MCP handler reads whatever
			// comes, so a chunked body is bounded here.
			body = http.MaxBytesReader(w, body, s.maxBody)
		}
		r.Body = &guardedBody{ReadCloser: body, s: s, r: r}
		next.ServeHTTP(w, r)
	})
}

// errBodyTooLarge is a body announced larger than the limit; problemFor
// names the limit.
var errBodyTooLarge = errors.New("request body too large")

// guardedBody turns a read error that is the client's fault into
// errMalformedBody, logging the cause once.
type guardedBody struct {
	io.ReadCloser
	s      *server
	r      *http.Request
	logged bool
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	if errors.As(err, &tooLarge) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return n, err // huma answers these: 413 and 408
	}
	if !b.logged {
		b.logged = true
		b.s.log.WarnContext(b.r.Context(), "request body unreadable", "request_id", requestID(b.r.Context()), "err", err)
	}
	return n, errMalformedBody
}

// errMalformedBody is a request body that is not valid HTTP framing. It is
// an error of its own type so that it survives huma's wrapping (huma reports
// a failed body read as a 500 carrying the reader's error).
var errMalformedBody = &malformedBody{}

type malformedBody struct{}

func (*malformedBody) Error() string {
	return "the request body could not be read: it is not valid HTTP (for example a malformed chunked encoding or a body cut short)"
}

// bodyProblem is the problem for errMalformedBody and errBodyTooLarge, or nil
// for any other error.
func (s *server) bodyProblem(err error) *problem {
	var mb *malformedBody
	switch {
	case errors.As(err, &mb):
		return newProblem(http.StatusBadRequest, mb.Error()).(*problem)
	case errors.Is(err, errBodyTooLarge):
		return newProblem(http.StatusRequestEntityTooLarge,
			"the request body is larger than the limit of "+strconv.FormatInt(s.maxBody, 10)+" bytes").(*problem)
	}
	return nil
}
