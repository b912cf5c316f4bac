package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Log output is batched. The request log writes a line per request, and a
// write(2) per line was the single largest cost of logging under load (a
// system call per request, on top of reading the request, writing the
// response and talking to the database). Lines are collected for at most
// logFlushDelay, or until logFlushSize bytes are waiting, and written
// together; a warning or an error is written at once, with everything
// before it; and main writes whatever is left before the process exits.
// What a crash (SIGKILL, a runtime fatal error) loses is at most the last
// logFlushDelay of info and debug lines.
const (
	logFlushDelay = 100 * time.Millisecond
	logFlushSize  = 32 << 10
)

// logBuffer batches writes to w. Each Write must be whole lines, as slog's
// handlers write them, so that a flush never splits a line.
type logBuffer struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	timer *time.Timer // flushes after logFlushDelay; nil until first used
	armed bool
}

func newLogBuffer(w io.Writer) *logBuffer { return &logBuffer{w: w} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	switch {
	case len(b.buf) >= logFlushSize:
		b.flushLocked()
	case b.timer == nil:
		b.timer, b.armed = time.AfterFunc(logFlushDelay, func() { b.Flush() }), true
	case !b.armed:
		b.timer.Reset(logFlushDelay)
		b.armed = true
	}
	return len(p), nil
}

// Flush writes what is waiting.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *logBuffer) flushLocked() {
	if b.armed {
		b.timer.Stop()
		b.armed = false
	}
	if len(b.buf) == 0 {
		return
	}
	_, _ = b.w.Write(b.buf) // like slog's own handlers, a log that cannot be written is not an error of the request
	if cap(b.buf) > 4*logFlushSize {
		b.buf = nil // after a burst, do not keep its memory
	} else {
		b.buf = b.buf[:0]
	}
}

// flushingHandler writes warnings and errors out at once: they are the
// lines an operator looks for after something went wrong.
type flushingHandler struct {
	slog.Handler
	out *logBuffer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.out.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.out}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.out}
}

// logOutputs are the buffers made by newLogger, for flushLogs.
var (
	logOutputsMu sync.Mutex
	logOutputs   []*logBuffer
)

// bufferedLog returns a buffered writer on w whose lines flushLogs writes
// out, and a function that wraps a handler writing to it.
func bufferedLog(w io.Writer) (*logBuffer, func(slog.Handler) slog.Handler) {
	b := newLogBuffer(w)
	logOutputsMu.Lock()
	logOutputs = append(logOutputs, b)
	logOutputsMu.Unlock()
	return b, func(h slog.Handler) slog.Handler { return flushingHandler{h, b} }
}

// flushLogs writes every waiting log line; main calls it before exiting.
func flushLogs() {
	logOutputsMu.Lock()
	defer logOutputsMu.Unlock()
	for _, b := range logOutputs {
		b.Flush()
	}
}
