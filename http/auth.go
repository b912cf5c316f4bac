package http

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/metrics"
)

// bearerScheme names the security scheme that marks an operation as needing
// a token, both in the OpenAPI document and for authenticate.
const bearerScheme = "bearer"

var requireBearer = []map[string][]string{{bearerScheme: {}}}

// authenticate runs before every operation that declares bearer security. It
// verifies the token and hands the user to the next step through the
// context.
//
// A client address whose recent tokens kept failing gets 429 before its
// token is even looked at: verifying can cost a JWKS refresh or a call to
// the auth server, and an open door invites guessing. Only present but
// unusable tokens count; a missing header costs nothing to refuse, and
// counting it would turn a signed-out frontend's 401s into 429s.
func (s *server) authenticate(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	token, ok := bearerToken(ctx.Header("Authorization"))
	if !ok {
		s.writeHumaProblem(ctx, errNoToken)
		return
	}
	r, _ := humago.Unwrap(ctx)
	ip := s.clientIP(r)
	if blocked, wait := s.authFailures.exhausted(ip); blocked {
		s.metrics.RateLimited(metrics.LimitAuthFailure)
		s.writeHumaProblem(ctx, &limited{"too many failed authentication attempts", wait})
		return
	}
	user, err := s.verifier.Verify(ctx.Context(), token)
	if errors.Is(err, todoapi.ErrAuthUnavailable) {
		// The verifier could not decide (an auth server it has to ask is
		// down, or asked too often): no verdict on the token, so no
		// failure counted either.
		s.writeHumaProblem(ctx, err)
		return
	}
	if err != nil {
		s.authFailures.spend(ip)
		s.log.DebugContext(ctx.Context(), "token rejected", "request_id", requestID(ctx.Context()), "reason", err)
		// Whatever the verifier's reason, an unusable token is a 401.
		s.writeHumaProblem(ctx, fmt.Errorf("%w: %w", todoapi.ErrUnauthenticated, err))
		return
	}
	infoFrom(ctx.Context()).userID = user.ID
	next(huma.WithContext(ctx, todoapi.NewContextWithUser(ctx.Context(), user)))
}

// authorizePath checks that a {user_id} path segment names the token's user
// (or is "me").
func (s *server) authorizePath(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	if p := ctx.Param("user_id"); p != "" && p != "me" && p != userFrom(ctx.Context()).ID {
		s.writeHumaProblem(ctx, todoapi.ErrForbidden)
		return
	}
	next(ctx)
}

// bearerToken extracts the token from an Authorization header; the scheme
// name is case-insensitive (RFC 7235).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// userFrom returns the user authenticate stored in ctx.
func userFrom(ctx context.Context) todoapi.User {
	u, _ := todoapi.UserFromContext(ctx)
	return u
}
