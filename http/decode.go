package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
)

// Request bodies are decoded here rather than validated by huma against the
// schema: huma stops at the first type error, while a client should learn
// about every invalid field at once, type errors and value errors together
// (the domain's validation reports both). The schema still documents the
// bodies in the OpenAPI document.

// jsonFormat is huma's JSON format, except that it refuses text that
// encoding/json would silently repair (invalid UTF-8, unpaired UTF-16
// surrogate escapes) and so store something the client never sent.
var jsonFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		if ok, err := writeEncoded(w, v); ok { // encodeBody did the work
			return err
		}
		return huma.DefaultJSONFormat.Marshal(w, v)
	},
	Unmarshal: func(data []byte, v any) error {
		if !utf8.Valid(data) {
			return errors.New("request body is not valid UTF-8")
		}
		if !pairedSurrogates(data) {
			return errors.New(`request body has a \u escape of an unpaired UTF-16 surrogate`)
		}
		if string(bytes.TrimSpace(data)) == "null" {
			// Decoding null into a body pointer would read as "no body".
			return errNotObject
		}
		return json.Unmarshal(data, v)
	},
}

var errNotObject = errors.New("request body must be a JSON object")

// pairedSurrogates reports whether every \uD800–\uDFFF escape in data is
// half of a high-low pair.
func pairedSurrogates(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		i++ // the escaped character; an escaped backslash is skipped whole
		r, ok := escapedRune(data, i)
		if !ok {
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low half with no high half before it
		case r >= 0xD800 && r <= 0xDBFF:
			low, ok := escapedRune(data, i+6)
			if !ok || data[i+5] != '\\' || low < 0xDC00 || low > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

// escapedRune reads the four hex digits of a \u escape whose 'u' is at i.
func escapedRune(data []byte, i int) (rune, bool) {
	if i+4 >= len(data) || data[i] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range data[i+1 : i+5] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// optional is a body field that tells an absent key apart from an explicit
// null, which JSON merge patch (RFC 7396) gives different meanings; the
// domain's Field decodes it (a value of the wrong type is recorded, not
// returned as an error, so that every field gets checked).
type optional[T any] struct {
	todoapi.Field[T]
}

// Schema documents the field as its value type; the nullable tag on the
// struct field says whether null is allowed.
func (optional[T]) Schema(r huma.Registry) *huma.Schema {
	return r.Schema(reflect.TypeFor[T](), true, "")
}

// decodeObject fills the named fields from a JSON object. Keys match
// exactly: encoding/json would also match "Title" or "TITLE" to title, and
// let a later spelling override the real field. A field whose key is absent
// is read from the first of its aliases present (bodyAliases), and sentAs
// maps its name to that alias, so that an error about the value names the
// key the client sent. Other keys are ignored.
func decodeObject(data []byte, fields map[string]json.Unmarshaler) (sentAs map[string]string, err error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, errors.New("request body is not valid JSON: " + syntax.Error())
		}
		return nil, errNotObject
	}
	for name, field := range fields {
		raw, ok := obj[name]
		for _, alias := range bodyAliases[name] {
			if ok {
				break
			}
			if raw, ok = obj[alias]; ok {
				if sentAs == nil {
					sentAs = map[string]string{}
				}
				sentAs[name] = alias
			}
		}
		if ok {
			if err := field.UnmarshalJSON(raw); err != nil {
				return nil, err
			}
		}
	}
	return sentAs, nil
}

// requireJSON answers 415 to a body sent as anything but JSON. With schema
// validation off, huma would otherwise try to read any body as JSON.
func (s *server) requireJSON(ctx huma.Context, next func(huma.Context)) {
	ct := ctx.Header("Content-Type")
	if ct == "" || ctx.Header("Content-Length") == "0" {
		next(ctx)
		return
	}
	if !isJSON(ct) {
		s.writeHumaProblem(ctx, newProblem(http.StatusUnsupportedMediaType,
			"Content-Type must be application/json (or application/merge-patch+json for PATCH)"))
		return
	}
	// huma picks the decoder by the raw header, case and spaces included;
	// media types are case-insensitive, so hand it the canonical name.
	next(jsonContentType{ctx})
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// jsonContentType reports a JSON body's Content-Type as plain application/json.
type jsonContentType struct{ humaContext }

// humaContext lets jsonContentType embed huma.Context without the field's
// name hiding the interface's Context method.
type humaContext = huma.Context

// Unwrap lets humago.Unwrap reach the request under the wrapper.
func (c jsonContentType) Unwrap() huma.Context { return c.humaContext }

func (c jsonContentType) Header(name string) string {
	if strings.EqualFold(name, "Content-Type") {
		return "application/json"
	}
	return c.humaContext.Header(name)
}
