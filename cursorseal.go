package todoapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Cursors go to clients sealed: encrypted and authenticated with AES-256-GCM
// under a key that every replica shares (Store.ServiceKey, created once). A
// cursor holds the last task's sort value — for sort=title its title — and
// cursors end up in URLs, proxies' and browsers' logs and histories; sealed,
// they tell nobody anything, and a cursor changed by hand fails to open
// instead of positioning a list somewhere it never was.

// CursorKeyName is the name of the cursor key in Store.ServiceKey.
const CursorKeyName = "cursor"

// cursorKeySize is the AES-256 key size.
const cursorKeySize = 32

// cursorAAD binds a sealed cursor to its purpose: a value sealed for
// anything else under the same key does not open as a cursor.
var cursorAAD = []byte("todoapi list cursor v1")

// CursorSealer seals cursors for clients and opens the ones they send back.
// It is safe for concurrent use.
type CursorSealer struct {
	aead cipher.AEAD
}

// NewCursorSealer returns a sealer for a 32-byte key.
func NewCursorSealer(key []byte) (*CursorSealer, error) {
	if len(key) != cursorKeySize {
		return nil, fmt.Errorf("cursor key is %d bytes, want %d", len(key), cursorKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	return &CursorSealer{aead: aead}, nil
}

// newCursorKey returns a fresh random key, offered to Store.ServiceKey.
func newCursorKey() []byte {
	key := make([]byte, cursorKeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	return key
}

// Seal returns c as the opaque string a client sends back: a random nonce
// and the encrypted Encode form, base64url without padding. Sealing the
// same cursor twice gives different strings.
func (s *CursorSealer) Seal(c *Cursor) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(c.Encode())+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(c.Encode()), cursorAAD))
}

// Open returns the cursor in a string made by Seal with the same key, or
// errBadCursor for anything else: another key, a cursor changed by hand,
// garbage.
func (s *CursorSealer) Open(sealed string) (*Cursor, error) {
	if len(sealed) > maxSealedCursorLen {
		return nil, errBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, errBadCursor
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], cursorAAD)
	if err != nil {
		return nil, errBadCursor
	}
	return ParseCursor(string(plain))
}

// maxSealedCursorLen is the longest sealed cursor: the longest plain one,
// its nonce and tag, in base64.
const maxSealedCursorLen = (maxCursorLen+28)*4/3 + 4
