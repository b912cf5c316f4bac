package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// middleware wraps a handler with one concern of the service's edge.
type middleware func(http.Handler) http.Handler

// chain applies mws to h so that the first one listed is the outermost: it
// sees the request first and the response last.
func chain(h http.Handler, mws ...middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// requestInfo is filled in as a request travels inward (the route once the
// mux has matched it, the user once the token is verified), so that the log
// line and the metrics written on the way out can name them.
type requestInfo struct {
	route   string
	userID  string
	aborted bool
}

type requestInfoKey struct{}

// infoFrom returns the request's requestInfo; outside observe (in tests of a
// single layer) it returns a throwaway one, so callers never check for nil.
func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// responseWriter remembers the status and size of the response for the log
// and the metrics, and whether the header is gone, for recoverPanics.
// Unwrap lets http.ResponseController (which huma uses to set the body read
// deadline) reach the connection underneath.
//
// It also notices a client that went away: the first write that fails is
// kept, later writes fail at once, and a second status (an error response
// tried after a body write failed) is dropped, since the client has its
// status already or nothing at all; net/http would only warn of a
// "superfluous response.WriteHeader".
type responseWriter struct {
	http.ResponseWriter
	status   int
	bytes    int64
	writeErr error
}

func (w *responseWriter) WriteHeader(status int) {
	if status >= 200 { // 1xx responses may precede the real one
		if w.status != 0 {
			return
		}
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.writeErr != nil {
		return 0, w.writeErr
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	if err != nil {
		w.writeErr = err
	}
	return n, err
}

// statusClientGone is what the log and the metrics record for a request
// whose client went away before its response was complete (nginx's code
// for it): not the status the handler chose, which nobody received.
const statusClientGone = 499

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) headerWritten() bool { return w.status != 0 }

// clientGone reports whether a write to the client failed.
func (w *responseWriter) clientGone() bool { return w.writeErr != nil }

// observe writes one log line per request and records it in the metrics.
// The line names the route pattern, never the raw URL: paths and query
// strings carry task ids and search text (q=), which are the users' data,
// and patterns keep the metrics' label sets bounded. It never logs headers,
// so tokens stay out of the log.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		done := s.metrics.RequestStarted()
		info := &requestInfo{}
		rw := &responseWriter{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), requestInfoKey{}, info)
		defer func() { // deferred, so that an aborted response is logged too
			done()
			status := rw.status
			if status == 0 {
				status = http.StatusOK // what net/http sends for an empty response
			}
			// A failed write, or a request context cancelled while the
			// handler still ran (net/http cancels it when the connection
			// closes): the client did not get the response.
			sent := status
			gone := rw.writeErr != nil || errors.Is(r.Context().Err(), context.Canceled)
			if gone {
				status = statusClientGone
			}
			route := info.route
			if route == "" {
				route = unmatchedRoute(r)
			}
			method := methodLabel(r.Method)
			elapsed := time.Since(start)
			s.metrics.ObserveRequest(route, method, status, elapsed)

			attrs := []slog.Attr{
				slog.String("method", method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes", rw.bytes),
				slog.String("request_id", requestID(ctx)),
			}
			if info.userID != "" {
				attrs = append(attrs, slog.String("user_id", info.userID))
			}
			if info.aborted {
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			if gone && sent != statusClientGone && rw.status != 0 {
				attrs = append(attrs, slog.Int("status_started", sent))
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(ctx, level, "request", attrs...)
		}()
		next.ServeHTTP(rw, r.WithContext(ctx))
	})
}

// unmatchedRoute labels a request no mux pattern served: a CORS preflight,
// which the CORS layer answers before the mux, or an unknown path.
func unmatchedRoute(r *http.Request) string {
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		return "preflight"
	}
	return "unmatched"
}

// methodLabel keeps invented methods from adding series to the metrics.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// recoverPanics turns a panic into a logged 500 problem, so one bad request
// neither kills the process nor leaves its client without an answer. The
// stack goes to the log only; the response says nothing about the cause.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Headers set before the handler ran (request id, CORS, security
		// headers) belong in the 500 too; headers the handler set for a
		// response it never finished (Location, …) do not.
		before := make(map[string]bool, len(w.Header()))
		for k := range w.Header() {
			before[k] = true
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { // net/http's way to abort a response on purpose
				infoFrom(r.Context()).aborted = true
				panic(v)
			}
			if rw, ok := w.(interface{ clientGone() bool }); ok && rw.clientGone() {
				// A response that could not be written (huma panics when
				// its body write fails): the client went away, which is
				// no fault of the server's and logged as 499 by observe.
				infoFrom(r.Context()).aborted = true
				panic(http.ErrAbortHandler)
			}
			s.log.ErrorContext(r.Context(), "panic while serving a request",
				"request_id", requestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rw, ok := w.(interface{ headerWritten() bool }); ok && rw.headerWritten() {
				// Part of a response is out; cutting the connection tells the
				// client it is incomplete, which a trailing 500 could not.
				infoFrom(r.Context()).aborted = true
				panic(http.ErrAbortHandler)
			}
			for k := range w.Header() {
				if !before[k] {
					w.Header().Del(k)
				}
			}
			s.writeProblem(w, r, errPanicked)
		}()
		next.ServeHTTP(w, r)
	})
}

// closeWhenDraining asks clients to close their connection after each
// response while the process is shutting down. A keep-alive connection that
// the server closed while idle can meet a request the client has just sent
// on it, which then fails without an answer; a client told to close gets
// its answer first and opens its next connection elsewhere (or is refused
// once the listener is closed, which is safe to retry).
func (s *server) closeWhenDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the security headers every response carries: no
// content sniffing, no referrer. API
// responses are per-user data, so no cache (browser or shared) may keep them.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == mcpPath {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}
