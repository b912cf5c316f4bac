// Package todoapi holds the domain of the todoapi service: tasks, the rules
// that keep them valid, the errors callers can act on, and the interfaces the
// storage and transport packages implement or consume.
//
// It imports nothing outside the standard library. Each dependency lives in
// its own package: sqlite and postgres store tasks, auth turns bearer tokens
// into users, http serves the REST API, and cmd/todoapi wires them together.
package todoapi
