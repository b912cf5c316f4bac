package auth

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when a JWKS refresh goroutine outlives the tests:
// every Verifier with a JWKS source must be closed, and Close must stop it.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitForJWKSGoroutines(2 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "JWKS goroutines still running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func waitForJWKSGoroutines(within time.Duration) string {
	deadline := time.Now().Add(within)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "(*jwksSource).") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
