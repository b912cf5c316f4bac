package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MintClaims describes a token for Mint.
type MintClaims struct {
	// Subject is the user id (sub); required.
	Subject string
	// Email and Name are optional profile claims.
	Email, Name string
	// Issuer and Audience become iss and aud when non-empty; set them to
	// JWT_ISSUER / JWT_AUDIENCE when the server enforces those.
	Issuer, Audience string
	// TTL is how long the token is valid from now; it must be positive.
	TTL time.Duration
}

// mintedClaims is the JSON payload Mint signs. aud is a single string, the
// form Better Auth uses.
type mintedClaims struct {
	Subject   string           `json:"sub"`
	Email     string           `json:"email,omitempty"`
	Name      string           `json:"name,omitempty"`
	Issuer    string           `json:"iss,omitempty"`
	Audience  string           `json:"aud,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
}

func (c mintedClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c mintedClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c mintedClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c mintedClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c mintedClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c mintedClaims) GetAudience() (jwt.ClaimStrings, error) {
	if c.Audience == "" {
		return nil, nil
	}
	return jwt.ClaimStrings{c.Audience}, nil
}

// Mint returns an HS256 token for c signed with secret, as a Verifier
// configured with the same secret accepts it. It serves the `todoapi token`
// command, development mode and tests. It refuses input that Verify would
// reject or silently alter (an invalid subject, an over-long email or name),
// so a minted token always authenticates as exactly what was asked for.
func Mint(secret string, c MintClaims) (string, error) {
	return mint(secret, c, time.Now())
}

func mint(secret string, c MintClaims, now time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("auth: mint: empty secret")
	}
	if c.Subject == "" || !claimText(c.Subject) {
		return "", fmt.Errorf("auth: mint: subject must be 1 to %d characters without control characters", MaxClaimChars)
	}
	if !claimText(c.Email) || !claimText(c.Name) {
		return "", fmt.Errorf("auth: mint: email and name must be at most %d characters without control characters", MaxClaimChars)
	}
	if c.TTL <= 0 {
		return "", fmt.Errorf("auth: mint: TTL must be positive, got %s", c.TTL)
	}
	claims := mintedClaims{
		Subject:   c.Subject,
		Email:     c.Email,
		Name:      c.Name,
		Issuer:    c.Issuer,
		Audience:  c.Audience,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(c.TTL)),
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return token, nil
}
