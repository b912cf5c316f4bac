package main

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestLogBuffer checks that info lines are written in a batch after
// logFlushDelay, that a warning is written at once with the lines before
// it, and that flushLogs writes what is left. It runs in a synctest
// bubble: its clock moves only when the test sleeps, so "not yet written"
// and "written after the delay" hold on any machine.
func TestLogBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sink syncBuffer
		out, wrap := bufferedLog(&sink)
		// Its timer belongs to the bubble: no flushLogs after this test
		// may touch it.
		t.Cleanup(func() {
			logOutputsMu.Lock()
			defer logOutputsMu.Unlock()
			logOutputs = slices.DeleteFunc(logOutputs, func(b *logBuffer) bool { return b == out })
		})
		log := slog.New(wrap(slog.NewJSONHandler(out, nil)))

		log.Info("one")
		log.Info("two")
		time.Sleep(logFlushDelay - time.Millisecond)
		synctest.Wait()
		if s := sink.String(); s != "" {
			t.Fatalf("info lines written before the flush delay: %q", s)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait() // the flush the timer started has written
		if n := strings.Count(sink.String(), "\n"); n != 2 {
			t.Fatalf("%d lines written after the flush delay, want 2: %q", n, sink.String())
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
	})
}
