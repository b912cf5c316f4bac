package todoapi

import "context"

type userContextKey struct{}

// NewContextWithUser returns a copy of ctx that carries the authenticated
// user. The transport that checked the credentials puts the user there, and
// every transport served behind it (the REST operations, the MCP tools)
// reads it from there, so that no transport authenticates on its own.
func NewContextWithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userContextKey{}, u)
}

// UserFromContext returns the user NewContextWithUser stored in ctx, and
// whether there was one.
func UserFromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userContextKey{}).(User)
	return u, ok && u.ID != ""
}
