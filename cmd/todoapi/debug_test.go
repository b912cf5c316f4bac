package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"testing"
)

// TestServeDebug checks that DEBUG_ADDR serves the profiler on a listener
// of its own and says where.
func TestServeDebug(t *testing.T) {
	var out bytes.Buffer
	stop, err := serveDebug("127.0.0.1:0", &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	m := regexp.MustCompile(`todoapi profiles on (http://\S+/debug/pprof/)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no profiles line in %q", out.String())
	}
	for _, path := range []string{"", "cmdline", "heap?debug=1"} {
		resp, err := http.Get(m[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s%s: %d", m[1], path, resp.StatusCode)
		}
	}
	if _, err := serveDebug("127.0.0.1:0:0", io.Discard, slog.Default()); err == nil {
		t.Error("a bad DEBUG_ADDR did not fail")
	}
}
