//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package postgres

// peek cannot look at the socket here; pgxpool's ping after a second of
// idleness is the only check.
func peek(fd uintptr) bool { return false }
