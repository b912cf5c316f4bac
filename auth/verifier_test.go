package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoapi/todoapi"
)

func TestNewVerifier(t *testing.T) {
	if _, err := NewVerifier(Config{}); !errors.Is(err, ErrNoKeySource) {
		t.Errorf("empty config: err = %v, want ErrNoKeySource", err)
	}
	if _, err := NewVerifier(Config{Issuer: "https://auth.example", Audience: "todo"}); !errors.Is(err, ErrNoKeySource) {
		t.Errorf("iss/aud without secret: err = %v, want ErrNoKeySource", err)
	}
	if _, err := NewVerifier(Config{Secret: testSecret, Leeway: -time.Second}); err == nil {
		t.Error("negative leeway accepted")
	}
	v := secretVerifier(t)
	if got := v.Algorithms(); !slices.Equal(got, []string{"HS256"}) {
		t.Errorf("Algorithms() = %v, want [HS256]", got)
	}
}

func TestVerifyValid(t *testing.T) {
	v := secretVerifier(t)
	u := accept(t, v, hs256(t, testSecret, validClaims()))
	want := todoapi.User{ID: "user-1", Email: "ada@example.com", Name: "Ada Lovelace"}
	if u != want {
		t.Errorf("user = %+v, want %+v", u, want)
	}

	// A kid header is irrelevant to the secret.
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims())
	tok.Header["kid"] = "some-key"
	s, err := tok.SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	accept(t, v, s)
}

func TestVerifyWrongSecret(t *testing.T) {
	v := secretVerifier(t)
	refuse(t, v, hs256(t, "another-secret", validClaims()), "invalid signature")
	refuse(t, v, hs256(t, testSecret[:len(testSecret)-1], validClaims()), "invalid signature")

	// A flipped signature bit.
	good := hs256(t, testSecret, validClaims())
	i := strings.LastIndexByte(good, '.') + 1
	sig, _ := base64.RawURLEncoding.DecodeString(good[i:])
	sig[0] ^= 1
	refuse(t, v, good[:i]+base64.RawURLEncoding.EncodeToString(sig), "invalid signature")

	// A tampered payload under the original signature.
	parts := strings.Split(good, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte(rawClaims(t, with(validClaims(), "sub", "admin"))))
	refuse(t, v, parts[0]+"."+forged+"."+parts[2], "invalid signature")
}

func TestVerifySecretBytesExact(t *testing.T) {
	t.Run("trailing space", func(t *testing.T) {
		spaced := "s3cret-with-space "
		v := newVerifier(t, Config{Secret: spaced})
		accept(t, v, hs256(t, spaced, validClaims()))
		refuse(t, v, hs256(t, strings.TrimSpace(spaced), validClaims()), "invalid signature")

		trimmed := newVerifier(t, Config{Secret: strings.TrimSpace(spaced)})
		refuse(t, trimmed, hs256(t, spaced, validClaims()), "invalid signature")
	})
	t.Run("base64-looking", func(t *testing.T) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		b64 := base64.StdEncoding.EncodeToString(raw)
		v := newVerifier(t, Config{Secret: b64})
		accept(t, v, hs256(t, b64, validClaims()))
		refuse(t, v, hs256(t, string(raw), validClaims()), "invalid signature")

		// Same for a URL-safe unpadded form.
		b64url := base64.RawURLEncoding.EncodeToString(raw)
		v = newVerifier(t, Config{Secret: b64url})
		accept(t, v, hs256(t, b64url, validClaims()))
		refuse(t, v, hs256(t, string(raw), validClaims()), "invalid signature")
	})
	t.Run("non-ASCII", func(t *testing.T) {
		secret := "pässwörd-秘密-🔑"
		v := newVerifier(t, Config{Secret: secret})
		accept(t, v, hs256(t, secret, validClaims()))
	})
}

func TestVerifyAlgNone(t *testing.T) {
	v := secretVerifier(t)
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims())
	refuse(t, v, none, "unsupported algorithm")

	payload := rawClaims(t, validClaims())
	for _, header := range []string{
		`{"alg":"none","typ":"JWT"}`,
		`{"alg":"None","typ":"JWT"}`,
		`{"alg":"NONE","typ":"JWT"}`,
		`{"alg":"","typ":"JWT"}`,
		`{"typ":"JWT"}`,
		`{"alg":null}`,
		`{"alg":["HS256"]}`,
		`{"alg":"hs256"}`,
	} {
		// An HMAC over the right secret must not rescue a bad alg header.
		refuse(t, v, rawHS256(testSecret, header, payload), "unsupported algorithm")
		// Nor an empty signature.
		tok := rawHS256(testSecret, header, payload)
		refuse(t, v, tok[:strings.LastIndexByte(tok, '.')+1], "")
	}
}

func TestVerifyOtherHMACAlgorithms(t *testing.T) {
	v := secretVerifier(t)
	refuse(t, v, sign(t, jwt.SigningMethodHS384, []byte(testSecret), validClaims()), "unsupported algorithm")
	refuse(t, v, sign(t, jwt.SigningMethodHS512, []byte(testSecret), validClaims()), "unsupported algorithm")
}

func TestVerifyAsymmetricWithOnlySecret(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	v := secretVerifier(t)
	for _, tc := range []struct {
		method jwt.SigningMethod
		key    any
	}{
		{jwt.SigningMethodRS256, rsaKey},
		{jwt.SigningMethodPS256, rsaKey},
		{jwt.SigningMethodES256, p256},
		{jwt.SigningMethodES512, p521},
		{jwt.SigningMethodEdDSA, edKey},
	} {
		t.Run(tc.method.Alg(), func(t *testing.T) {
			refuse(t, v, sign(t, tc.method, tc.key, validClaims()), "unsupported algorithm")
		})
	}

	// Key confusion: an HS256 token whose HMAC key is the RSA public key's
	// PEM, as an attacker who knows the public key would forge it.
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	t.Run("HS256 with public key PEM", func(t *testing.T) {
		refuse(t, v, hs256(t, string(pemBytes), validClaims()), "invalid signature")
	})
}

func TestVerifyExpiry(t *testing.T) {
	v := secretVerifier(t)
	now := time.Now()
	base := with(validClaims(), "iat", now.Add(-2*time.Hour).Unix())

	refuse(t, v, hs256(t, testSecret, with(base, "exp", now.Add(-time.Minute).Unix())), "token expired")
	refuse(t, v, hs256(t, testSecret, with(base, "exp", now.Add(-24*time.Hour).Unix())), "token expired")
	accept(t, v, hs256(t, testSecret, with(base, "exp", now.Add(-10*time.Second).Unix())))
	refuse(t, v, hs256(t, testSecret, with(base, "exp", nil)), "missing exp claim")
	refuse(t, v, hs256(t, testSecret, with(base, "exp", 0)), "token expired")

	// A configured leeway replaces the default.
	strict := newVerifier(t, Config{Secret: testSecret, Leeway: 5 * time.Second})
	refuse(t, strict, hs256(t, testSecret, with(base, "exp", now.Add(-10*time.Second).Unix())), "token expired")
	wide := newVerifier(t, Config{Secret: testSecret, Leeway: 5 * time.Minute})
	accept(t, wide, hs256(t, testSecret, with(base, "exp", now.Add(-time.Minute).Unix())))

	// Fractional NumericDates are valid JSON numbers.
	accept(t, v, hs256(t, testSecret, with(base, "exp", float64(now.Add(time.Hour).UnixMilli())/1000)))
}

func TestVerifyNotBeforeAndIssuedAt(t *testing.T) {
	v := secretVerifier(t)
	now := time.Now()
	for _, claim := range []string{"nbf", "iat"} {
		t.Run(claim, func(t *testing.T) {
			reason := map[string]string{"nbf": "token not valid yet", "iat": "token issued in the future"}[claim]
			refuse(t, v, hs256(t, testSecret, with(validClaims(), claim, now.Add(time.Minute).Unix())), reason)
			refuse(t, v, hs256(t, testSecret, with(validClaims(), claim, now.Add(30*time.Minute).Unix())), reason)
			accept(t, v, hs256(t, testSecret, with(validClaims(), claim, now.Add(10*time.Second).Unix())))
			accept(t, v, hs256(t, testSecret, with(validClaims(), claim, now.Add(-time.Minute).Unix())))
		})
	}
	// Neither is required.
	accept(t, v, hs256(t, testSecret, with(validClaims(), "iat", nil, "nbf", nil)))
}

func TestVerifyIssuerAudience(t *testing.T) {
	const iss, aud = "https://auth.example.com", "todo-api"
	v := newVerifier(t, Config{Secret: testSecret, Issuer: iss, Audience: aud})
	good := with(validClaims(), "iss", iss, "aud", aud)

	accept(t, v, hs256(t, testSecret, good))
	accept(t, v, hs256(t, testSecret, with(good, "aud", []string{"other", aud})))

	refuse(t, v, hs256(t, testSecret, with(good, "iss", "https://evil.example.com")), "issuer mismatch")
	refuse(t, v, hs256(t, testSecret, with(good, "iss", iss+"/")), "issuer mismatch")
	refuse(t, v, hs256(t, testSecret, with(good, "iss", nil)), "missing iss claim")
	refuse(t, v, hs256(t, testSecret, with(good, "aud", "other")), "audience mismatch")
	refuse(t, v, hs256(t, testSecret, with(good, "aud", []string{"a", "b"})), "audience mismatch")
	refuse(t, v, hs256(t, testSecret, with(good, "aud", nil)), "missing aud claim")
	refuse(t, v, hs256(t, testSecret, with(good, "aud", []string{})), "missing aud claim")

	// Only the configured one is enforced.
	onlyIss := newVerifier(t, Config{Secret: testSecret, Issuer: iss})
	accept(t, onlyIss, hs256(t, testSecret, with(good, "aud", "anything")))
	accept(t, onlyIss, hs256(t, testSecret, with(good, "aud", nil)))
	refuse(t, onlyIss, hs256(t, testSecret, with(good, "iss", "x")), "issuer mismatch")
	onlyAud := newVerifier(t, Config{Secret: testSecret, Audience: aud})
	accept(t, onlyAud, hs256(t, testSecret, with(good, "iss", "anything")))
	refuse(t, onlyAud, hs256(t, testSecret, with(good, "aud", "x")), "audience mismatch")

	// Not configured: any or no iss/aud passes.
	plain := secretVerifier(t)
	accept(t, plain, hs256(t, testSecret, with(good, "iss", "https://whoever", "aud", []string{"x", "y"})))
	accept(t, plain, hs256(t, testSecret, validClaims()))

	// Registered claims of the wrong type make the token malformed.
	refuse(t, plain, hs256(t, testSecret, with(good, "aud", 5)), "malformed token")
	refuse(t, plain, hs256(t, testSecret, with(good, "iss", 5)), "malformed token")
	refuse(t, plain, hs256(t, testSecret, with(good, "exp", "tomorrow")), "malformed token")
}

func TestVerifySubject(t *testing.T) {
	v := secretVerifier(t)
	long255 := strings.Repeat("a", 255)
	for _, tc := range []struct {
		name string
		sub  any // nil deletes the claim
		want string
	}{
		{"string", "abc-123", "abc-123"},
		{"255 chars", long255, long255},
		{"255 multibyte chars", strings.Repeat("é", 255), strings.Repeat("é", 255)},
		{"integer", 12345, "12345"},
		{"zero", 0, "0"},
		{"string of digits", "12345", "12345"},
		{"spaces kept", " a b ", " a b "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := accept(t, v, hs256(t, testSecret, with(validClaims(), "sub", tc.sub)))
			if u.ID != tc.want {
				t.Errorf("ID = %q, want %q", u.ID, tc.want)
			}
		})
	}

	// Integers beyond float64 precision keep every digit.
	big := "123456789012345678901234567890"
	payload := strings.Replace(rawClaims(t, with(validClaims(), "sub", "PLACEHOLDER")), `"PLACEHOLDER"`, big, 1)
	if u := accept(t, v, rawHS256(testSecret, hs256Header, payload)); u.ID != big {
		t.Errorf("big integer sub: ID = %q, want %q", u.ID, big)
	}

	refuse(t, v, hs256(t, testSecret, with(validClaims(), "sub", nil)), "missing sub claim")
	payload = strings.Replace(rawClaims(t, with(validClaims(), "sub", "PLACEHOLDER")), `"PLACEHOLDER"`, "null", 1)
	refuse(t, v, rawHS256(testSecret, hs256Header, payload), "missing sub claim")

	for _, tc := range []struct {
		name string
		sub  any
	}{
		{"empty", ""},
		{"256 chars", strings.Repeat("a", 256)},
		{"256 multibyte chars", strings.Repeat("é", 256)},
		{"negative", -5},
		{"fraction", 12.5},
		{"bool", true},
		{"object", map[string]any{"id": "x"}},
		{"array", []string{"x"}},
		{"NUL", "a\x00b"},
		{"newline", "a\nb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refuse(t, v, hs256(t, testSecret, with(validClaims(), "sub", tc.sub)), "invalid sub claim")
		})
	}
	// Number spellings with several forms, and text that did not survive
	// JSON decoding intact.
	for _, raw := range []string{"1e3", "12.0", "-0", "1E3", `"\ud800"`, "\"\xff\xfe\""} {
		payload := strings.Replace(rawClaims(t, with(validClaims(), "sub", "PLACEHOLDER")), `"PLACEHOLDER"`, raw, 1)
		refuse(t, v, rawHS256(testSecret, hs256Header, payload), "invalid sub claim")
	}
	// A 256-digit integer is as over-long as a 256-character string.
	payload = strings.Replace(rawClaims(t, with(validClaims(), "sub", "PLACEHOLDER")), `"PLACEHOLDER"`, "1"+strings.Repeat("0", 255), 1)
	refuse(t, v, rawHS256(testSecret, hs256Header, payload), "invalid sub claim")
	payload = strings.Replace(rawClaims(t, with(validClaims(), "sub", "PLACEHOLDER")), `"PLACEHOLDER"`, "1"+strings.Repeat("0", 254), 1)
	accept(t, v, rawHS256(testSecret, hs256Header, payload))
}

func TestVerifyProfileClaims(t *testing.T) {
	v := secretVerifier(t)
	long255 := strings.Repeat("n", 255)
	for _, tc := range []struct {
		desc        string
		email, name any // nil deletes the claim
		wantEmail   string
		wantName    string
	}{
		{"both", "a@b.c", "Ada", "a@b.c", "Ada"},
		{"absent", nil, nil, "", ""},
		{"unicode", "jürgen@exämple.de", "Jürgen 李", "jürgen@exämple.de", "Jürgen 李"},
		{"255 chars", long255, long255, long255, long255},
		{"256 chars dropped", long255 + "x", long255 + "x", "", ""},
		{"numbers ignored", 42, 3.5, "", ""},
		{"bool and object ignored", true, map[string]any{"first": "Ada"}, "", ""},
		{"array ignored", []string{"a@b.c"}, []string{"Ada"}, "", ""},
		{"control characters dropped", "a@b.c\n", "Ada\x00", "", ""},
		{"one bad, one good", 7, "Ada", "", "Ada"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			u := accept(t, v, hs256(t, testSecret, with(validClaims(), "email", tc.email, "name", tc.name)))
			if u.ID != "user-1" || u.Email != tc.wantEmail || u.Name != tc.wantName {
				t.Errorf("user = %+v, want ID user-1, Email %q, Name %q", u, tc.wantEmail, tc.wantName)
			}
		})
	}
	// Invalid UTF-8 and null.
	payload := strings.Replace(rawClaims(t, with(validClaims(), "email", "E", "name", "N")), `"E"`, "\"\xff@x\"", 1)
	payload = strings.Replace(payload, `"N"`, "null", 1)
	if u := accept(t, v, rawHS256(testSecret, hs256Header, payload)); u.Email != "" || u.Name != "" {
		t.Errorf("user = %+v, want email and name dropped", u)
	}
}

func TestVerifySize(t *testing.T) {
	v := secretVerifier(t)

	// A validly signed token of exactly MaxTokenBytes is parsed and accepted;
	// one byte more is refused. Pad a claim (and, for base64 length
	// residues, the header) until the length is exact.
	exact := ""
search:
	for h := 0; h < 4; h++ {
		header := fmt.Sprintf(`{"alg":"HS256","typ":"JWT","x":"%s"}`, strings.Repeat("h", h))
		for n := 5000; n < 7000; n++ {
			tok := rawHS256(testSecret, header, rawClaims(t, with(validClaims(), "pad", strings.Repeat("p", n))))
			if len(tok) == MaxTokenBytes {
				exact = tok
				break search
			}
			if len(tok) > MaxTokenBytes {
				break
			}
		}
	}
	if len(exact) != 8192 {
		t.Fatalf("could not build an 8192-byte token")
	}
	accept(t, v, exact)

	over := ""
	for n := 5000; len(over) != MaxTokenBytes+1; n++ {
		over = rawHS256(testSecret, hs256Header, rawClaims(t, with(validClaims(), "pad", strings.Repeat("p", n))))
		if len(over) > MaxTokenBytes+1 {
			// Residue skipped 8193; append a byte to a shorter one instead.
			over = exact + "A"
		}
	}
	refuse(t, v, over, "token too large")
	refuse(t, v, exact+"A", "token too large")
	refuse(t, v, strings.Repeat("a", 1<<20), "token too large")
}

func TestVerifyGarbage(t *testing.T) {
	v := secretVerifier(t)
	good := hs256(t, testSecret, validClaims())
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString

	for _, tc := range []struct {
		name, token, reason string
	}{
		{"empty", "", "empty token"},
		{"one segment", "abc", "malformed token"},
		{"a.b.c", "a.b.c", "malformed token"},
		{"two segments", parts[0] + "." + parts[1], "malformed token"},
		{"four segments", good + ".x", "malformed token"},
		{"dots only", "..", "malformed token"},
		{"invalid base64 characters", "!!!.@@@.###", "malformed token"},
		{"standard base64 alphabet", strings.ReplaceAll(good, "_", "/") + "+", "malformed token"},
		{"padding", parts[0] + "==." + parts[1] + "." + parts[2], "malformed token"},
		{"whitespace", " " + good, "malformed token"},
		{"embedded newline", parts[0][:4] + "\n" + parts[0][4:] + "." + parts[1] + "." + parts[2], "malformed token"},
		{"bearer prefix", "Bearer " + good, "malformed token"},
		{"header not JSON", enc([]byte("nope")) + "." + parts[1] + "." + parts[2], "malformed token"},
		{"header JSON array", enc([]byte(`["HS256"]`)) + "." + parts[1] + "." + parts[2], "malformed token"},
		{"payload not JSON", rawHS256(testSecret, hs256Header, "not json"), "malformed token"},
		{"payload JSON array", rawHS256(testSecret, hs256Header, `[{"sub":"user-1"}]`), "malformed token"},
		{"payload JSON string", rawHS256(testSecret, hs256Header, `"user-1"`), "malformed token"},
		{"payload null", rawHS256(testSecret, hs256Header, `null`), "missing exp claim"},
		{"payload empty object", rawHS256(testSecret, hs256Header, `{}`), "missing exp claim"},
		{"signature not base64", parts[0] + "." + parts[1] + ".ab", "malformed token"},
		{"empty signature", parts[0] + "." + parts[1] + ".", "invalid signature"},
		{"crit header", rawHS256(testSecret, `{"alg":"HS256","crit":["b64"],"b64":false}`, rawClaims(t, validClaims())), "unsupported critical header"},
	} {
		t.Run(tc.name, func(t *testing.T) { refuse(t, v, tc.token, tc.reason) })
	}
}

// TestVerifyErrorsNeverLeakToken checks messages for fragments of the token,
// not only the whole of it.
func TestVerifyErrorsNeverLeakToken(t *testing.T) {
	v := secretVerifier(t)
	for _, tok := range []string{
		hs256(t, "wrong", validClaims()),
		rawHS256(testSecret, `{"alg":"HS256","x":`, "{}"),
		rawHS256(testSecret, hs256Header, `{"sub":"SECRETSUBJECT","exp":"x"}`),
		rawHS256(testSecret, hs256Header, `{"sub":"SECRETSUBJECT"}`),
	} {
		_, err := v.Verify(context.Background(), tok)
		if err == nil {
			t.Fatalf("accepted %q", tok)
		}
		for _, p := range strings.Split(tok, ".") {
			if len(p) > 3 && strings.Contains(err.Error(), p) {
				t.Errorf("error %q contains token segment", err)
			}
		}
		if strings.Contains(err.Error(), "SECRETSUBJECT") {
			t.Errorf("error %q contains a claim value", err)
		}
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v := secretVerifier(t)
	good := hs256(t, testSecret, validClaims())
	bad := hs256(t, "wrong", validClaims())
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Go(func() {
			for j := 0; j < 50; j++ {
				if _, err := v.Verify(context.Background(), good); err != nil {
					t.Errorf("good token: %v", err)
					return
				}
				if _, err := v.Verify(context.Background(), bad); err == nil {
					t.Error("bad token accepted")
					return
				}
			}
		})
	}
	wg.Wait()
}

// Time claims are JSON numbers: a string holding a number is how no issuer
// writes them, and taking it would accept tokens every other verifier
// refuses.
func TestVerifyTimeClaimsMustBeNumbers(t *testing.T) {
	v := secretVerifier(t)
	now := time.Now()
	for claim, value := range map[string]int64{
		"exp": now.Add(time.Hour).Unix(),
		"nbf": now.Add(-time.Minute).Unix(),
		"iat": now.Add(-time.Minute).Unix(),
	} {
		t.Run(claim, func(t *testing.T) {
			accept(t, v, hs256(t, testSecret, with(validClaims(), claim, value)))
			refuse(t, v, hs256(t, testSecret, with(validClaims(), claim, strconv.FormatInt(value, 10))), "malformed token")
			refuse(t, v, hs256(t, testSecret, with(validClaims(), claim, true)), "malformed token")
			refuse(t, v, hs256(t, testSecret, with(validClaims(), claim, []int64{value})), "malformed token")
		})
	}
}

// A sub of only white space names nobody.
func TestVerifySubjectBlank(t *testing.T) {
	v := secretVerifier(t)
	for _, sub := range []string{" ", "   ", "\u00a0", "\u2003 \u3000"} {
		refuse(t, v, hs256(t, testSecret, with(validClaims(), "sub", sub)), "invalid sub claim")
	}
}
