package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogBuffer checks that info lines are written in a batch within
// logFlushDelay, that a warning is written at once with the lines before
// it, and that flushLogs writes what is left.
func TestLogBuffer(t *testing.T) {
	var sink syncBuffer
	out, wrap := bufferedLog(&sink)
	log := slog.New(wrap(slog.NewJSONHandler(out, nil)))

	log.Info("one")
	log.Info("two")
	if s := sink.String(); s != "" {
		t.Fatalf("info lines written before the flush delay: %q", s)
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(sink.String(), "\n") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("info lines not written within 5s: %q", sink.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	log.Info("three")
	log.Warn("four")
	if s := sink.String(); !strings.Contains(s, `"msg":"three"`) || !strings.Contains(s, `"msg":"four"`) {
		t.Fatalf("a warning did not write itself and the line before it at once: %q", s)
	}

	log.Info("five")
	flushLogs()
	if s := sink.String(); !strings.HasSuffix(s, "\"msg\":\"five\"}\n") || strings.Count(s, "\n") != 5 {
		t.Fatalf("flushLogs did not write the last line once, in order: %q", s)
	}
}
