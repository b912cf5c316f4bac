package auth

// JWK parsing with the standard library only.
//
// Why not github.com/MicahParks/jwkset (with keyfunc), or lestrrat-go/jwx?
// Measured against jwkset v0.11.4 on the five key shapes Better Auth
// publishes (OKP Ed25519, EC P-256 and P-521, RSA for RS256 and PS256),
// parsing the set costs about the same: 0.1–0.4 ms here
// (BenchmarkParseKeySet), 0.05–0.7 ms with jwkset, on a 2-core machine
// under load, once per refresh, which happens every few minutes. Speed
// decides nothing. What decides:
//
//   - The refresh policy is the part that needs care (fetch at start
//     without failing, keep the known keys when a fetch fails, a budget of
//     fetches per unknown kid and in total so that a key rotation is
//     followed at once while made-up kids cannot hammer the auth server,
//     flush the token cache when the set changes, stop on Close; see
//     jwks.go). jwkset's client refreshes on an unknown kid behind one
//     rate limiter shared by every kid (by default one fetch per five
//     minutes): exactly the cool-down that turns a rotation into a window
//     of 401s. We would keep our own refresh loop and use only its parser.
//   - Its parser would save the ~150 lines below, which turn each shape
//     into the crypto key golang-jwt verifies with and hold the one rule
//     that matters for security in one visible place: a key accepts only
//     the algorithm it was published for (kty, crv and alg must agree).
//   - It adds a module; jwx would add a second JWT stack next to golang-jwt.
//
// So the parser stays ours; the numbers are rerun with
// go test ./auth -bench ParseKeySet.

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// jwksAlgorithms are the JWS algorithms a JWKS source can verify: what
// Better Auth's jwt plugin can sign with.
var jwksAlgorithms = []string{"EdDSA", "ES256", "ES512", "PS256", "RS256"}

// MinRSABits is the smallest RSA modulus accepted from a JWKS.
const MinRSABits = 2048

// maxKIDBytes bounds a kid, in a key set and in a token header.
const maxKIDBytes = 256

// rawJWK is one entry of a JSON Web Key Set (RFC 7517), with the members a
// public signing key can have.
type rawJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	// D is present only in a private key, which a JWKS must never publish.
	D string `json:"d"`
}

// jwk is a parsed verification key, bound to exactly one algorithm.
type jwk struct {
	kid string
	alg string
	// key is ed25519.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey, the
	// type golang-jwt's verifier for alg expects.
	key any
	// material identifies the key's type, algorithm and public numbers, for
	// telling whether a fetched set differs from the one in use.
	material string
}

// parseJWK turns r into a verification key.
//
// The key's algorithm is its alg member, which must agree with its type and
// curve: OKP/Ed25519 is EdDSA, EC P-256 is ES256, EC P-521 is ES512, RSA is
// RS256 or PS256. Without alg, the type decides (RSA then means RS256 only;
// PS256 needs an explicit "alg": "PS256"). A key is therefore usable for one
// algorithm only, and the JWKS source hands it out only for a token of that
// algorithm: an ES256 key can never verify an ES512 or HS256 token.
func parseJWK(r rawJWK) (jwk, error) {
	if r.Kid == "" {
		return jwk{}, errors.New("no kid")
	}
	if len(r.Kid) > maxKIDBytes {
		return jwk{}, errors.New("kid too long")
	}
	if r.D != "" {
		return jwk{}, errors.New("private key published in the key set")
	}
	if r.Use != "" && r.Use != "sig" {
		return jwk{}, fmt.Errorf("use %q is not sig", r.Use)
	}
	if r.KeyOps != nil && !slices.Contains(r.KeyOps, "verify") {
		return jwk{}, errors.New("key_ops does not include verify")
	}

	k := jwk{kid: r.Kid}
	switch r.Kty {
	case "OKP":
		if r.Crv != "Ed25519" {
			return jwk{}, fmt.Errorf("unsupported OKP curve %q", r.Crv)
		}
		x, err := b64(r.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return jwk{}, errors.New("bad Ed25519 x")
		}
		k.alg, k.key = "EdDSA", ed25519.PublicKey(x)
	case "EC":
		var curve elliptic.Curve
		switch r.Crv {
		case "P-256":
			curve, k.alg = elliptic.P256(), "ES256"
		case "P-521":
			curve, k.alg = elliptic.P521(), "ES512"
		default:
			return jwk{}, fmt.Errorf("unsupported EC curve %q", r.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, errX := b64(r.X)
		y, errY := b64(r.Y)
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return jwk{}, fmt.Errorf("bad %s coordinates", r.Crv)
		}
		// ParseUncompressedPublicKey rejects points not on the curve.
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return jwk{}, fmt.Errorf("bad %s point", r.Crv)
		}
		k.key = pub
	case "RSA":
		k.alg = "RS256"
		if r.Alg == "PS256" {
			k.alg = "PS256"
		}
		n, errN := b64(r.N)
		e, errE := b64(r.E)
		if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return jwk{}, errors.New("bad RSA n or e")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < MinRSABits {
			return jwk{}, fmt.Errorf("RSA key of %d bits; at least %d required", pub.N.BitLen(), MinRSABits)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return jwk{}, errors.New("bad RSA exponent")
		}
		k.key = pub
	default:
		return jwk{}, fmt.Errorf("unsupported kty %q", r.Kty)
	}
	if r.Alg != "" && r.Alg != k.alg {
		return jwk{}, fmt.Errorf("alg %q does not fit a %s %s key", r.Alg, r.Kty, r.Crv)
	}
	k.material = fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s", k.kid, k.alg, r.Crv, r.X, r.Y, r.N, r.E)
	return k, nil
}

// b64 decodes unpadded base64url, as JWK members are encoded (RFC 7515 §2).
// Strict: no padding, no other alphabet, no stray bits.
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// keySet is one fetched JWKS, immutable once built.
type keySet struct {
	// byKid lists the keys of each kid. Normally one; a kid published with
	// keys of two algorithms keeps both, and a token selects by kid and alg.
	byKid map[string][]jwk
	// fingerprint is the sorted key material, to detect changes.
	fingerprint string
	kids        []string
}

// parseKeySet parses a JWKS document. Keys that cannot be used (an
// unsupported type, a bad encoding, a private key) are skipped and reported
// in skipped, so that one odd key does not take the others down; a document
// that is not a JWKS, or holds no usable key, is an error.
func parseKeySet(body []byte) (ks *keySet, skipped []string, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	ks = &keySet{byKid: make(map[string][]jwk)}
	var material []string
	for i, raw := range doc.Keys {
		var r rawJWK
		if err := json.Unmarshal(raw, &r); err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: not a JWK", i))
			continue
		}
		k, err := parseJWK(r)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d (kid %.64q): %v", i, r.Kid, err))
			continue
		}
		if slices.ContainsFunc(ks.byKid[k.kid], func(o jwk) bool { return o.alg == k.alg }) {
			// Two keys for one kid and alg: a token could not say which
			// it means. Keep the first, as a verifier must pick one.
			skipped = append(skipped, fmt.Sprintf("key %d (kid %.64q): duplicate kid and alg", i, k.kid))
			continue
		}
		if len(ks.byKid[k.kid]) == 0 {
			ks.kids = append(ks.kids, k.kid)
		}
		ks.byKid[k.kid] = append(ks.byKid[k.kid], k)
		material = append(material, k.material)
	}
	if len(material) == 0 {
		return nil, skipped, fmt.Errorf("no usable key among %d", len(doc.Keys))
	}
	slices.Sort(material)
	slices.Sort(ks.kids)
	for _, m := range material {
		ks.fingerprint += m + "\n"
	}
	return ks, skipped, nil
}

// lookup returns the key for kid and alg. known reports whether the set has
// kid at all, so that a known kid with the wrong alg is not mistaken for a
// key the set has not fetched yet.
func (ks *keySet) lookup(kid, alg string) (k jwk, known bool) {
	if ks == nil {
		return jwk{}, false
	}
	keys, known := ks.byKid[kid]
	for _, k := range keys {
		if k.alg == alg {
			return k, true
		}
	}
	return jwk{}, known
}
