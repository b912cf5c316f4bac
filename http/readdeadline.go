package http

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// guardReadDeadline keeps a read deadline from outliving the request's
// body. huma sets one (READ_TIMEOUT) before it reads an operation's body,
// even when the request has none; but once a request's body is read,
// net/http reads the connection in the background to notice a client that
// hangs up, and when that read hits a deadline it cancels the request's
// context. A request still waiting for the database after READ_TIMEOUT
// (one that DB_CONNECT_TIMEOUT and DB_QUERY_TIMEOUT bound on their own)
// then ended as if its client had left, while the client was still
// waiting. So a deadline set after the body is read is ignored; the
// server's own deadlines for the body, and WRITE_TIMEOUT for the response,
// still hold.
func guardReadDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := &deadlineGuard{ResponseWriter: w, rc: http.NewResponseController(w)}
		if r.Body == nil || r.Body == http.NoBody {
			g.bodyRead.Store(true)
		} else {
			r.Body = &eofBody{ReadCloser: r.Body, done: &g.bodyRead}
		}
		next.ServeHTTP(g, r)
	})
}

// deadlineGuard is a ResponseWriter whose SetReadDeadline, which
// http.ResponseController calls, applies only while the body is unread.
type deadlineGuard struct {
	http.ResponseWriter
	rc       *http.ResponseController
	bodyRead atomic.Bool
}

func (g *deadlineGuard) SetReadDeadline(t time.Time) error {
	if g.bodyRead.Load() && !t.IsZero() {
		return nil
	}
	return g.rc.SetReadDeadline(t)
}

// Unwrap lets http.ResponseController reach the writer's other abilities
// (flushing, write deadlines).
func (g *deadlineGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// eofBody records when its body has been read to the end.
type eofBody struct {
	io.ReadCloser
	done *atomic.Bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.done.Store(true)
	}
	return n, err
}
