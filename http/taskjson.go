package http

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
)

// Responses are encoded before they are written, into a pooled buffer, so
// that each gets a Content-Length and goes out in as few writes as the
// connection's buffer allows, instead of net/http's chunked encoding of
// whatever the encoder happens to flush. A list too long for one buffer of
// streamChunk bytes is the exception: it is encoded and written a buffer at
// a time, chunked, so that a page of a thousand long tasks costs the same
// few kilobytes of buffer as a short one rather than a copy of the whole
// page. Tasks, the bulk of every response, are encoded by hand: the output
// is byte for byte what encoding/json writes for todoapi.Task
// (TestAppendTaskMatchesEncodingJSON), at a fraction of the cost of its
// reflection and of the time package's MarshalJSON (BenchmarkEncodeTasks).

// streamChunk is how much of a list is encoded before it is written: big
// enough for a typical user's whole list (and so a Content-Length), small
// enough that many parallel pages of the largest tasks stay cheap.
const streamChunk = 32 << 10

// encoded is a response body that encodeBody has already encoded, or begun
// to: for a long list, tasks[next:] are still to be encoded and written
// after buf. jsonFormat writes it.
type encoded struct {
	buf   *bytes.Buffer
	tasks []todoapi.Task
	next  int
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps unusually large buffers (one task can exceed
// streamChunk, and non-task bodies are encoded whole) out of the pool, so
// that one such response does not pin its memory for ever.
const maxPooledBuffer = 256 << 10

func (e *encoded) release() {
	if e.buf != nil && e.buf.Cap() <= maxPooledBuffer {
		e.buf.Reset()
		bufferPool.Put(e.buf)
	}
	e.buf, e.tasks = nil, nil
}

// encodeBody is the last huma transformer: it encodes the response body and
// sets Content-Length, or, for a list longer than streamChunk, encodes the
// first streamChunk bytes and leaves the rest to be streamed. Every format
// this API has is JSON (apiConfig), so the body is always encoded as
// jsonFormat would.
func encodeBody(ctx huma.Context, status string, v any) (any, error) {
	if v == nil || status == "304" { // a 304 has no body
		return v, nil
	}
	buf := bufferPool.Get().(*bytes.Buffer)
	if tasks, ok := v.([]todoapi.Task); ok && tasks != nil {
		b, n := appendTaskRun(buf.AvailableBuffer(), tasks, 0, streamChunk)
		buf.Write(b)
		if n < len(tasks) {
			return &encoded{buf: buf, tasks: tasks, next: n}, nil
		}
		buf.WriteByte('\n')
		ctx.SetHeader("Content-Length", strconv.Itoa(buf.Len()))
		return &encoded{buf: buf}, nil
	}
	if err := encodeJSON(buf, v); err != nil {
		buf.Reset()
		bufferPool.Put(buf)
		return nil, err
	}
	ctx.SetHeader("Content-Length", strconv.Itoa(buf.Len()))
	return &encoded{buf: buf}, nil
}

// encodeJSON appends v's JSON and a newline to buf, as
// json.Encoder with SetEscapeHTML(false) does.
func encodeJSON(buf *bytes.Buffer, v any) error {
	var b []byte
	switch v := v.(type) {
	case []todoapi.Task:
		b = appendTasks(buf.AvailableBuffer(), v)
	case todoapi.Task:
		b = appendTask(buf.AvailableBuffer(), &v)
	case *todoapi.Task:
		b = appendTask(buf.AvailableBuffer(), v)
	case completion:
		b = appendCompletion(buf.AvailableBuffer(), &v)
	default:
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	buf.Write(append(b, '\n'))
	return nil
}

// writeEncoded writes a body encodeBody made, and reports whether v was one.
// The rest of a long list is encoded into the same buffer, streamChunk
// bytes at a time, each written before the next is encoded.
func writeEncoded(w interface{ Write([]byte) (int, error) }, v any) (bool, error) {
	e, ok := v.(*encoded)
	if !ok {
		return false, nil
	}
	defer e.release()
	if e.buf == nil {
		return true, nil
	}
	if _, err := w.Write(e.buf.Bytes()); err != nil {
		return true, err
	}
	for e.tasks != nil {
		e.buf.Reset()
		var b []byte
		b, e.next = appendTaskRun(e.buf.AvailableBuffer(), e.tasks, e.next, streamChunk)
		if e.next == len(e.tasks) {
			b = append(b, '\n')
			e.tasks = nil
		}
		e.buf.Write(b)
		if _, err := w.Write(e.buf.Bytes()); err != nil {
			return true, err
		}
	}
	return true, nil
}

// appendTaskRun appends the part of the JSON array of tasks that starts
// with tasks[from] ("[" first when from is 0), task by task until b holds
// at least limit bytes or the array is closed with "]". It returns b and
// the index of the first task not yet appended (len(tasks) at the end).
func appendTaskRun(b []byte, tasks []todoapi.Task, from, limit int) ([]byte, int) {
	if from == 0 {
		b = append(b, '[')
	}
	i := from
	for ; i < len(tasks) && len(b) < limit; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTask(b, &tasks[i])
	}
	if i == len(tasks) {
		b = append(b, ']')
	}
	return b, i
}

func appendTasks(b []byte, tasks []todoapi.Task) []byte {
	if tasks == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range tasks {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTask(b, &tasks[i])
	}
	return append(b, ']')
}

// appendCompletion appends c as encoding/json encodes it: the task's
// fields, then next_occurrence and task.
func appendCompletion(b []byte, c *completion) []byte {
	b = appendTask(b, &c.Task)
	b = append(b[:len(b)-1], `,"next_occurrence":`...)
	if c.NextOccurrence == nil {
		b = append(b, "null"...)
	} else {
		b = appendTask(b, c.NextOccurrence)
	}
	b = append(b, `,"task":`...)
	b = appendTask(b, &c.Same)
	return append(b, '}')
}

// appendTask appends t as encoding/json encodes it, field by field in the
// order and with the names of todoapi.Task's json tags.
func appendTask(b []byte, t *todoapi.Task) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `,"user_id":`...)
	b = appendString(b, t.UserID)
	b = append(b, `,"title":`...)
	b = appendString(b, t.Title)
	b = append(b, `,"description":`...)
	b = appendStringPtr(b, t.Description)
	b = append(b, `,"completed":`...)
	b = strconv.AppendBool(b, t.Completed)
	b = append(b, `,"completed_at":`...)
	b = appendTimePtr(b, t.CompletedAt)
	b = append(b, `,"priority":`...)
	b = appendString(b, string(t.Priority))
	b = append(b, `,"tags":`...)
	if t.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, tag := range t.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, tag)
		}
		b = append(b, ']')
	}
	b = append(b, `,"due_date":`...)
	b = appendTimePtr(b, t.DueDate)
	b = append(b, `,"recurrence":`...)
	b = appendStringPtr(b, t.Recurrence)
	b = append(b, `,"timezone":`...)
	b = appendString(b, t.Timezone)
	b = append(b, `,"remind_at":`...)
	b = appendTimePtr(b, t.RemindAt)
	b = append(b, `,"next_occurrence_id":`...)
	if t.NextOccurrenceID == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *t.NextOccurrenceID, 10)
	}
	b = append(b, `,"created_at":`...)
	b = appendTime(b, t.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, t.UpdatedAt)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, t.Version, 10)
	return append(b, '}')
}

// appendStringPtr writes s, or null when s is nil.
func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendTimePtr(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendTime(b, *t)
}

// appendTime writes t as time.Time's MarshalJSON does (RFC 3339 with as
// many fractional digits as needed). Stores keep years 1 to 9999, the range
// in which MarshalJSON succeeds.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string exactly as encoding/json does
// without HTML escaping: ", \ and control characters escaped (\b, \f, \n,
// \r, \t by name), invalid UTF-8 replaced by \ufffd, and U+2028 and U+2029
// escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
