package http

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
)

// maxSizeTasks returns n tasks of the largest size a user can store: every
// text field at its limit, in four-byte characters.
func maxSizeTasks(n int) []todoapi.Task {
	tasks := benchTasks(n)
	desc := strings.Repeat("😀", todoapi.MaxDescriptionLen)
	tags := make([]string, todoapi.MaxTags)
	for i := range tags {
		tags[i] = strconv.Itoa(i) + strings.Repeat("😀", todoapi.MaxTagLen-len(strconv.Itoa(i)))
	}
	for i := range tasks {
		tasks[i].Title = strings.Repeat("😀", todoapi.MaxTitleLen)
		tasks[i].Description = &desc
		tasks[i].Tags = tags
	}
	return tasks
}

// writeRecorder records the size of every Write a handler makes.
type writeRecorder struct {
	http.ResponseWriter
	largest int
	total   int
}

func (w *writeRecorder) Write(b []byte) (int, error) {
	w.largest = max(w.largest, len(b))
	w.total += len(b)
	return w.ResponseWriter.Write(b)
}

// discardWriter is a ResponseWriter that keeps nothing of the body.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// TestLongListIsStreamed: a page of 1 000 tasks of the largest size
// (about 9 MB of JSON) is written in pieces of a bounded size, and serving
// it allocates a small fraction of its size, so that parallel pages do not
// each hold a copy of their whole body; the body is still exactly what
// encoding/json writes. A short list keeps its Content-Length.
//
// Not parallel: it reads the process's allocation counter, which tests
// running beside it would move.
func TestLongListIsStreamed(t *testing.T) {
	verifier, err := auth.NewVerifier(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	tasks := maxSizeTasks(1000)
	h := NewHandler(Config{
		Tasks:    benchService{tasks: tasks},
		Verifier: verifier,
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Version:  "test",
	})
	tok := token(t, "user-7f3a9c")
	request := func() *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/api/user-7f3a9c/tasks", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return req
	}

	rec := httptest.NewRecorder()
	w := &writeRecorder{ResponseWriter: rec}
	h.ServeHTTP(w, request())
	if rec.Code != http.StatusOK {
		t.Fatalf("list: %d %.200s", rec.Code, rec.Body.String())
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tasks); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), want.Bytes()) {
		t.Fatalf("streamed body (%d bytes) differs from encoding/json's (%d bytes)", rec.Body.Len(), want.Len())
	}
	if rec.Header().Get("Content-Length") != "" {
		t.Errorf("streamed body has Content-Length %q", rec.Header().Get("Content-Length"))
	}
	// One task of the largest size, all escaped, is the most a piece can
	// exceed the chunk by.
	if bound := streamChunk + 64<<10; w.largest > bound {
		t.Errorf("largest write %d bytes of a %d-byte body; want at most %d", w.largest, w.total, bound)
	}

	// Bytes allocated per request, the body's buffers included, against
	// the body's size: a whole-body buffer alone would be more than the body.
	const runs = 5
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		dw := &discardWriter{header: http.Header{}}
		h.ServeHTTP(dw, request())
	}
	runtime.ReadMemStats(&after)
	perRequest := (after.TotalAlloc - before.TotalAlloc) / runs
	if limit := uint64(want.Len() / 8); perRequest > limit {
		t.Errorf("a %d-byte page allocated %d bytes per request; want under %d", want.Len(), perRequest, limit)
	}
	t.Logf("body %d bytes, largest write %d, allocated %d bytes per request", want.Len(), w.largest, perRequest)

	// A short list is encoded whole, with a Content-Length.
	short := NewHandler(Config{Tasks: benchService{tasks: tasks[:2]}, Verifier: verifier, Version: "test"})
	rec = httptest.NewRecorder()
	short.ServeHTTP(rec, request())
	if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(rec.Body.Len()) {
		t.Errorf("short list: Content-Length %q for %d bytes", got, rec.Body.Len())
	}
}
