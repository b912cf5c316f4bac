package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoapi/todoapi"
)

func TestMintRoundTrip(t *testing.T) {
	tok, err := Mint(testSecret, MintClaims{Subject: "demo", Email: "demo@example.com", Name: "Demo User", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	u := accept(t, secretVerifier(t), tok)
	want := todoapi.User{ID: "demo", Email: "demo@example.com", Name: "Demo User"}
	if u != want {
		t.Errorf("user = %+v, want %+v", u, want)
	}

	// Only the exact secret verifies it.
	refuse(t, newVerifier(t, Config{Secret: testSecret + " "}), tok, "invalid signature")

	// It is plain HS256 with iat and exp = iat + TTL and no iss/aud.
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	if err != nil {
		t.Fatal(err)
	}
	c := parsed.Claims.(jwt.MapClaims)
	iat, _ := c.GetIssuedAt()
	exp, _ := c.GetExpirationTime()
	if iat == nil || exp == nil || exp.Sub(iat.Time) != time.Hour {
		t.Errorf("iat %v exp %v, want exp = iat + 1h", iat, exp)
	}
	if d := time.Since(iat.Time); d < -time.Second || d > time.Minute {
		t.Errorf("iat %v is not now", iat)
	}
	if _, ok := c["iss"]; ok {
		t.Errorf("iss present without Issuer: %v", c)
	}
	if _, ok := c["aud"]; ok {
		t.Errorf("aud present without Audience: %v", c)
	}
	if _, ok := c["nbf"]; ok {
		t.Errorf("unexpected nbf: %v", c)
	}
}

func TestMintOmitsEmptyProfile(t *testing.T) {
	tok, err := Mint(testSecret, MintClaims{Subject: "42", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if u := accept(t, secretVerifier(t), tok); u != (todoapi.User{ID: "42"}) {
		t.Errorf("user = %+v", u)
	}
}

func TestMintIssuerAudience(t *testing.T) {
	const iss, aud = "https://auth.example.com", "todo-api"
	strict := newVerifier(t, Config{Secret: testSecret, Issuer: iss, Audience: aud})

	tok, err := Mint(testSecret, MintClaims{Subject: "u", Issuer: iss, Audience: aud, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	accept(t, strict, tok)
	accept(t, secretVerifier(t), tok)

	bare, err := Mint(testSecret, MintClaims{Subject: "u", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	refuse(t, strict, bare, "missing iss claim")

	wrongAud, err := Mint(testSecret, MintClaims{Subject: "u", Issuer: iss, Audience: "other", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	refuse(t, strict, wrongAud, "audience mismatch")
}

func TestMintTTL(t *testing.T) {
	v := secretVerifier(t)
	// Minted two hours ago with a one-hour TTL: expired.
	old, err := mint(testSecret, MintClaims{Subject: "u", TTL: time.Hour}, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	refuse(t, v, old, "token expired")
	// Expired 10 s ago: inside the default leeway.
	recent, err := mint(testSecret, MintClaims{Subject: "u", TTL: time.Hour}, time.Now().Add(-time.Hour-10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	accept(t, v, recent)
}

func TestMintRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret string
		c      MintClaims
	}{
		{"empty secret", "", MintClaims{Subject: "u", TTL: time.Hour}},
		{"empty subject", testSecret, MintClaims{TTL: time.Hour}},
		{"long subject", testSecret, MintClaims{Subject: strings.Repeat("s", 256), TTL: time.Hour}},
		{"control in subject", testSecret, MintClaims{Subject: "a\nb", TTL: time.Hour}},
		{"long email", testSecret, MintClaims{Subject: "u", Email: strings.Repeat("e", 256), TTL: time.Hour}},
		{"long name", testSecret, MintClaims{Subject: "u", Name: strings.Repeat("n", 256), TTL: time.Hour}},
		{"zero TTL", testSecret, MintClaims{Subject: "u"}},
		{"negative TTL", testSecret, MintClaims{Subject: "u", TTL: -time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := Mint(tc.secret, tc.c); err == nil {
				t.Errorf("Mint succeeded: %q", tok)
			}
		})
	}
}
