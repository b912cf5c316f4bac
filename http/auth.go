package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
// Every token is verified first, whatever its address did before: one
// address may carry many users (a NAT, a frontend server calling for all
// its users, a proxy whose X-Forwarded-For is not trusted), so a valid
// token must never pay for someone else's expired or forged one. Only a
// token that fails spends its address's budget of failures, and once that
// is spent a failing token gets 429 instead of 401, telling a guesser (or
// a client stuck on a dead token) to slow down. Verifying a bad token is
// cheap: the verified-token cache answers repeat tokens, a signature check
// costs microseconds, and the expensive paths — refreshing the JWKS for an
// unknown kid, asking Better Auth about a session — are bounded by budgets
// of their own in the verifier. A missing header costs nothing to refuse
// and never counts, or a signed-out frontend's 401s would turn into 429s.
func (s *server) authenticate(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	r, _ := humago.Unwrap(ctx)
	var (
		user todoapi.User
		err  error
	)
	if ticket := ctx.Query("ticket"); ticket != "" && ctx.Operation().Metadata[ticketAuth] == true &&
		ctx.Header("Authorization") == "" {
		// Only the events operation takes a ticket (ticketAuth), and only
		// in place of a token.
		user, err = s.authenticateTicket(r.WithContext(ctx.Context()), ticket)
	} else {
		user, err = s.authenticateRequest(r.WithContext(ctx.Context()), "")
	}
	if err != nil {
		s.writeHumaProblem(ctx, err)
		return
	}
	next(huma.WithContext(ctx, todoapi.NewContextWithUser(ctx.Context(), user)))
}

// authenticateRequest finds the user of r's bearer token, or the error to
// answer, as authenticate describes: the one check of credentials for every
// route that needs them (the /api operations, /mcp). resource names the
// protected resource the request is for when it is not the REST API, so
// that tokens issued for that resource alone are accepted there and
// nowhere else.
func (s *server) authenticateRequest(r *http.Request, resource string) (todoapi.User, error) {
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return todoapi.User{}, errNoToken
	}
	var (
		user todoapi.User
		err  error
	)
	if rv, ok := s.verifier.(ResourceVerifier); ok && resource != "" {
		user, err = rv.VerifyResource(r.Context(), token, resource)
	} else {
		user, err = s.verifier.Verify(r.Context(), token)
	}
	if errors.Is(err, todoapi.ErrAuthUnavailable) {
		// The verifier could not decide (an auth server it has to ask is
		// down, or asked too often): no verdict on the token, so no
		// failure counted either.
		return todoapi.User{}, err
	}
	if err != nil {
		s.log.DebugContext(r.Context(), "token rejected", "request_id", requestID(r.Context()), "reason", err)
		if ok, wait := s.authFailures.allow(s.clientIP(r)); !ok {
			s.metrics.RateLimited(metrics.LimitAuthFailure)
			return todoapi.User{}, &limited{"too many failed authentication attempts", wait}
		}
		// Whatever the verifier's reason, an unusable token is a 401.
		return todoapi.User{}, fmt.Errorf("%w: %w", todoapi.ErrUnauthenticated, err)
	}
	infoFrom(r.Context()).userID = user.ID
	return user, nil
}

// authenticateTicket finds the user of an event-stream ticket, using it
// up. An unknown, used or expired ticket is a failed authentication and
// counts against its address as a bad token does; a ticket that could not
// be looked up (the database is down) has no verdict.
func (s *server) authenticateTicket(r *http.Request, ticket string) (todoapi.User, error) {
	if s.tickets == nil {
		return todoapi.User{}, errNoTickets
	}
	user, err := s.tickets.Redeem(r.Context(), ticket)
	if errors.Is(err, todoapi.ErrInvalidTicket) {
		s.log.DebugContext(r.Context(), "ticket rejected", "request_id", requestID(r.Context()))
		if ok, wait := s.authFailures.allow(s.clientIP(r)); !ok {
			s.metrics.RateLimited(metrics.LimitAuthFailure)
			return todoapi.User{}, &limited{"too many failed authentication attempts", wait}
		}
		return todoapi.User{}, fmt.Errorf("%w: %w", todoapi.ErrUnauthenticated, err)
	}
	if err != nil {
		return todoapi.User{}, err
	}
	infoFrom(r.Context()).userID = user.ID
	return user, nil
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
