package auth

import (
	"encoding/json"
	"testing"
)

// BenchmarkParseKeySet parses a key set of the five key shapes Better Auth
// can publish (EdDSA, ES256, ES512, RS256, PS256), as every JWKS refresh
// does. It is the number behind keeping our own parser rather than
// github.com/MicahParks/jwkset (see jwk.go).
func BenchmarkParseKeySet(b *testing.B) {
	var keys []map[string]any
	for _, alg := range []string{"EdDSA", "ES256", "ES512", "RS256", "PS256"} {
		keys = append(keys, newTestKey(b, alg, "kid-"+alg).jwk())
	}
	body, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ks, skipped, err := parseKeySet(body)
		if err != nil || len(skipped) != 0 || ks == nil {
			b.Fatalf("parseKeySet: %v, skipped %v", err, skipped)
		}
	}
}
