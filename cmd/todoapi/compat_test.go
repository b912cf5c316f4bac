package main

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestSecretBytesAndNumericSub: through the real binary's configuration,
// the HS256 key is BETTER_AUTH_SECRET's exact bytes (no trimming, no base64
// decoding), and a numeric sub is the user id as its digits,
// as frontends written for the Python design rely on.
func TestSecretBytesAndNumericSub(t *testing.T) {
	t.Parallel()
	const secret = "  c2VjcmV0LXdpdGgtc3BhY2Vz= "
	base := startTodoapiE2E(t, map[string]string{"BETTER_AUTH_SECRET": secret})
	sign := func(key string, sub any) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
		}).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	api := e2eAPI{t, base, sign(secret, 12345)}
	var task e2eTask
	api.expect(201, "POST", "/api/tasks", map[string]any{"title": "numeric user"}, &task)
	if task.UserID != "12345" {
		t.Errorf("user_id = %q, want 12345", task.UserID)
	}
	api.expect(200, "GET", "/api/12345/tasks", nil, nil)
	for _, key := range []string{"c2VjcmV0LXdpdGgtc3BhY2Vz=", "secret-with-spaces"} { // trimmed; base64-decoded
		e2eAPI{t, base, sign(key, 12345)}.expect(401, "GET", "/api/me/tasks", nil, nil)
	}
}
