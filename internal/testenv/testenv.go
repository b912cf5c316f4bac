// Package testenv lets tests that need an outside program or service skip on
// a developer's machine that lacks it, while CI, which sets TODOAPI_NO_SKIP=1,
// fails instead so that it can never pass by skipping.
package testenv

import (
	"os"
	"testing"
)

// NoSkipVar is the environment variable that turns skips into failures.
const NoSkipVar = "TODOAPI_NO_SKIP"

// Skip skips the test with reason, or fails it when NoSkipVar is set.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(NoSkipVar) != "" {
		t.Fatalf("%s (and %s is set, so this cannot be skipped)", reason, NoSkipVar)
	}
	t.Skip(reason)
}
