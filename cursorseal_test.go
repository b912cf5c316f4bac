package todoapi

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestCursorSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := NewCursorSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	c := CursorAfter(Sort{Key: SortTitle, Asc: true}, Task{ID: 42, Title: "Secret Plans"})
	sealed := s.Seal(c)
	if strings.Contains(sealed, c.Encode()[:8]) {
		t.Errorf("sealed %q contains the plain form", sealed)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	if bytes.Contains(bytes.ToLower(raw), []byte("secret")) {
		t.Errorf("sealed cursor holds the title")
	}
	got, err := s.Open(sealed)
	if err != nil || got.Encode() != c.Encode() {
		t.Fatalf("Open(Seal(c)) = %+v, %v; want %+v", got, err, c)
	}
	if s.Seal(c) == sealed {
		t.Errorf("two seals of one cursor are equal")
	}

	other, _ := NewCursorSealer(bytes.Repeat([]byte{8}, 32))
	for name, bad := range map[string]string{
		"other key":  other.Seal(c),
		"plain form": c.Encode(),
		"empty":      "",
		"short":      sealed[:10],
		"too long":   strings.Repeat("A", maxSealedCursorLen+1),
	} {
		if _, err := s.Open(bad); !errors.Is(err, errBadCursor) {
			t.Errorf("%s: Open = %v, want errBadCursor", name, err)
		}
	}
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x80
		if _, err := s.Open(base64.RawURLEncoding.EncodeToString(b)); !errors.Is(err, errBadCursor) {
			t.Fatalf("byte %d flipped: Open = %v, want errBadCursor", i, err)
		}
	}
	// The longest cursor there is still opens.
	long := CursorAfter(Sort{Key: SortTitle}, Task{ID: 1 << 62, Title: strings.Repeat("\U0001F600", MaxTitleLen)})
	if _, err := s.Open(s.Seal(long)); err != nil {
		t.Errorf("longest title cursor: %v", err)
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewCursorSealer(make([]byte, n)); err == nil {
			t.Errorf("a %d-byte key was accepted", n)
		}
	}
}

// A cursor's title can hold no control character: no task title can, and
// PostgreSQL cannot compare text holding U+0000.
func TestParseCursorControlCharacters(t *testing.T) {
	for _, title := range []string{"a\x00b", "\x00", "a\x1fb", "a\u0085b"} {
		c := CursorAfter(Sort{Key: SortTitle}, Task{ID: 1, Title: title})
		if _, err := ParseCursor(c.Encode()); !errors.Is(err, errBadCursor) {
			t.Errorf("title %q: ParseCursor = %v, want errBadCursor", title, err)
		}
	}
}
