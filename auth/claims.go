package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoapi/todoapi"
)

// MaxClaimChars is the longest user id, email or name accepted, in
// characters. It matches the width of the users table's columns.
const MaxClaimChars = 255

// tokenClaims is the claims set of a token. Registered time and issuer and
// audience claims are typed, so a malformed one (say "exp": "soon" or
// "aud": 5) makes the token malformed even when iss/aud are not checked:
// those claims are security relevant and a token that garbles them is not
// trusted. sub is kept raw because it may be a string or a number, and the
// profile claims are kept raw because a bad one must not cost the user their
// session.
type tokenClaims struct {
	Issuer    string           `json:"iss"`
	Subject   json.RawMessage  `json:"sub"`
	Audience  jwt.ClaimStrings `json:"aud"`
	ExpiresAt *numericDate     `json:"exp"`
	NotBefore *numericDate     `json:"nbf"`
	IssuedAt  *numericDate     `json:"iat"`
	Email     json.RawMessage  `json:"email"`
	// ClientID and AuthorizedParty name the OAuth client an access token
	// was issued to (RFC 9068 client_id; azp).
	// Kept raw, like the profile claims: a token that garbles them is
	// simply not taken for a client's own.
	ClientID        json.RawMessage `json:"client_id"`
	AuthorizedParty json.RawMessage `json:"azp"`
	Name            json.RawMessage `json:"name"`
}

// The jwt.Claims methods let jwt.Validator check exp, nbf, iat, iss and aud.

func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.date(), nil }
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore.date(), nil }
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt.date(), nil }

// numericDate is a time claim that must be a JSON number. jwt.NumericDate
// also takes a string holding a number ("exp": "1767225600"), which no
// issuer emits: a token that spells its time claims differently from every
// real one is refused rather than guessed at.
type numericDate jwt.NumericDate

func (d *numericDate) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errNotNumber
	}
	return (*jwt.NumericDate)(d).UnmarshalJSON(b)
}

var errNotNumber = errors.New("time claim is not a JSON number")

// date returns d as the type jwt.Validator reads; nil stays nil.
func (d *numericDate) date() *jwt.NumericDate                 { return (*jwt.NumericDate)(d) }
func (c *tokenClaims) GetIssuer() (string, error)             { return c.Issuer, nil }
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error) { return c.Audience, nil }

// GetSubject is unused by the Validator (no expected subject is configured);
// the subject is interpreted by subject.
func (c *tokenClaims) GetSubject() (string, error) {
	id, ok := subject(c.Subject)
	if !ok {
		return "", jwt.ErrInvalidType
	}
	return id, nil
}

// clientOnly reports whether an access token's subject is the client it
// was issued to: a client-credentials grant, made for no user.
func (c *tokenClaims) clientOnly() bool {
	sub, ok := subject(c.Subject)
	if !ok {
		return false
	}
	client, party := profile(c.ClientID), profile(c.AuthorizedParty)
	return (client != "" && sub == client) || (party != "" && sub == party)
}

// user builds the authenticated user from claims whose signature and time
// claims have been verified.
func (c *tokenClaims) user() (todoapi.User, error) {
	if isAbsent(c.Subject) {
		return todoapi.User{}, reject("missing sub claim")
	}
	id, ok := subject(c.Subject)
	if !ok {
		return todoapi.User{}, reject("invalid sub claim")
	}
	return todoapi.User{ID: id, Email: profile(c.Email), Name: profile(c.Name)}, nil
}

// subject interprets the raw sub claim as a user id.
//
// A string must be non-empty text (see cleanText). A JSON number is accepted
// only when it is a non-negative integer written in plain digits, and is
// taken as exactly those digits: 12345 → "12345", and integers beyond 2^53
// keep every digit because the number is never converted to float64.
// Fractions (12.5, 12.0), exponents (1e3) and negative numbers are rejected:
// each has several JSON spellings (1e3 vs 1000, -0 vs 0) that would have to
// be canonicalised into a guessed id, and no identity provider issues them.
func subject(raw json.RawMessage) (string, bool) {
	if isAbsent(raw) {
		return "", false
	}
	if raw[0] == '"' {
		s, ok := decodeText(raw)
		if !ok || strings.TrimSpace(s) == "" {
			// Only white space names nobody; a store or a log would
			// show it as an empty id.
			return "", false
		}
		return s, true
	}
	if len(raw) > MaxClaimChars {
		return "", false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	// encoding/json has already rejected leading zeros, so the digits are
	// the canonical decimal form.
	return string(raw), true
}

// profile returns the email or name claim when it is a sane string, and ""
// otherwise. Profile claims are informational, so a bad one is dropped rather
// than rejecting an otherwise valid token.
func profile(raw json.RawMessage) string {
	if isAbsent(raw) || raw[0] != '"' {
		return ""
	}
	s, _ := decodeText(raw)
	return s
}

// decodeText decodes a JSON string and applies claimText.
func decodeText(raw json.RawMessage) (string, bool) {
	// encoding/json replaces invalid UTF-8 with U+FFFD, which would map
	// different byte strings to the same id; check the raw bytes first.
	if !utf8.Valid(raw) {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	if !claimText(s) {
		return "", false
	}
	return s, true
}

// claimText reports whether s is at most MaxClaimChars characters, free of
// control characters (the domain's rule for any text, ControlCharacter) and
// free of U+FFFD: that is what encoding/json substitutes for lone surrogate
// escapes, so it marks a claim that did not survive decoding intact, and
// two different tokens could otherwise name the same user.
func claimText(s string) bool {
	if utf8.RuneCountInString(s) > MaxClaimChars || strings.ContainsRune(s, utf8.RuneError) {
		return false
	}
	_, bad := todoapi.ControlCharacter(s, false)
	return !bad
}

// isAbsent reports whether a raw claim was missing or null.
func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}
