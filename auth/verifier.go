// Package auth turns a bearer token into the todoapi.User it was issued for.
//
// A Verifier accepts a token only when a configured key source can verify its
// signature. The key sources, not the token, decide which signing algorithms
// are possible: the token's "alg" header merely selects among the algorithms
// the configured sources own, so "alg": "none", an HMAC token "signed" with a
// public key, or any algorithm no source owns is rejected before a key is
// ever looked up.
//
// There are two sources. The shared secret (BETTER_AUTH_SECRET) owns HS256.
// A JWKS source (Better Auth's BETTER_AUTH_URL/api/auth/jwks, or JWKS_URL)
// owns EdDSA, ES256, ES512, RS256 and PS256 and selects a key by the token's
// kid, handing it out only for the one algorithm that key is for. Each
// source has its own iss/aud requirements. Both may be configured at once.
//
// Verified tokens are remembered until they expire (see tokenCache), which
// saves the signature check on every further request with the same token.
//
// Optionally (Config.Sessions) a bearer value that is not shaped
// like a JWT is taken for a Better Auth session token and looked up at
// Better Auth's get-session endpoint: answers are cached briefly, lookups
// of one token are shared, and lookups are rate-limited (session.go).
//
// The package knows nothing about serving HTTP: the transport layer
// extracts the bearer value and maps the returned errors, which wrap
// todoapi.ErrUnauthenticated (401), or todoapi.ErrAuthUnavailable when a
// session lookup could not be made (503).
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoapi/todoapi"
)

// MaxTokenBytes is the largest token Verify will look at. Anything larger is
// rejected before it is decoded, so an attacker cannot make the server
// base64-decode and JSON-parse arbitrarily large input.
const MaxTokenBytes = 8 << 10

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat when
// Config.Leeway is zero. Issuer and API clocks are rarely in perfect sync, and
// a few seconds of drift must not log users out.
const DefaultLeeway = 30 * time.Second

// ErrNoKeySource is returned by NewVerifier when nothing could verify a token.
// Callers use it to decide between development mode and a start-up error.
var ErrNoKeySource = errors.New("auth: no key source configured (set BETTER_AUTH_SECRET, or BETTER_AUTH_URL / JWKS_URL)")

// Config selects the key sources and claim requirements of a Verifier.
type Config struct {
	// Secret is BETTER_AUTH_SECRET. When non-empty, HS256 tokens whose
	// signature was made with exactly these bytes are accepted. The value is
	// used as is: no trimming and no base64 decoding, because Better Auth
	// signs with the raw string and any normalisation here would silently
	// accept a different key than the one configured.
	Secret string

	// Issuer and Audience, when non-empty, must match the iss claim and be
	// contained in the aud claim of HS256 tokens. When empty they are not
	// checked. JWKS tokens have their own, in JWKS.
	Issuer, Audience string

	// JWKS configures a JSON Web Key Set source; JWKS.URL empty means none.
	JWKS JWKSConfig

	// CacheSize is how many verified tokens are remembered (until each
	// one's exp); zero means DefaultCacheSize, negative disables the cache.
	CacheSize int

	// Leeway is the clock skew tolerated on exp, nbf and iat; zero means
	// DefaultLeeway. It must not be negative.
	Leeway time.Duration

	// Sessions configures Better Auth session tokens: bearer values that
	// are not JWTs, looked up at Better Auth. Sessions.URL empty
	// means none.
	Sessions SessionConfig
}

// Verifier checks bearer tokens. It is safe for concurrent use. With a JWKS
// source it runs a refresh goroutine until Close.
type Verifier struct {
	// parser decodes and verifies signatures only; claims are checked by the
	// binding that verified the signature, so that each key source can have
	// its own iss/aud requirements (JWKS tokens have a default issuer,
	// BETTER_AUTH_URL's origin, that HS256 tokens do not have).
	parser *jwt.Parser

	// byAlg maps each accepted JWS algorithm to the one source that owns it.
	byAlg map[string]*binding

	// jwks is the JWKS source, if any, for Close.
	jwks *jwksSource

	// cache remembers verified tokens; nil when disabled.
	cache *tokenCache

	// sessions looks up bearer values that are not JWTs at Better Auth;
	// nil when session tokens are not accepted.
	sessions *sessionSource
}

// binding is a key source together with the claim rules for the tokens it
// verifies.
type binding struct {
	source keySource
	// claims checks the time claims; issuer and audience are checked by
	// checkIssuer and allows, which know about access tokens and resources.
	claims *jwt.Validator
	// issuer and audience are what this source's tokens must carry for
	// the REST API ("": not checked). accessIssuer is a second issuer
	// accepted on OAuth access tokens (see JWKSConfig.AccessTokenIssuer).
	issuer, audience, accessIssuer string
}

// NewVerifier builds a Verifier from cfg. It returns ErrNoKeySource when cfg
// configures no key source, so that a misconfigured server cannot start up
// accepting nothing (or, worse, everything).
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Leeway < 0 {
		return nil, fmt.Errorf("auth: negative leeway %s", cfg.Leeway)
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}

	type sourceRules struct {
		src                            keySource
		issuer, audience, accessIssuer string
	}
	var sources []sourceRules
	if cfg.Secret != "" {
		sources = append(sources, sourceRules{newHMACSource(cfg.Secret), cfg.Issuer, cfg.Audience, ""})
	}
	var jwks *jwksSource
	if cfg.JWKS.URL != "" {
		var err error
		if jwks, err = newJWKSSource(cfg.JWKS); err != nil {
			return nil, err
		}
		sources = append(sources, sourceRules{jwks, cfg.JWKS.Issuer, cfg.JWKS.Audience, cfg.JWKS.AccessTokenIssuer})
	}
	var sessions *sessionSource
	if cfg.Sessions.URL != "" {
		var err error
		if sessions, err = newSessionSource(cfg.Sessions); err != nil {
			return nil, err
		}
	}
	if len(sources) == 0 && sessions == nil {
		return nil, ErrNoKeySource
	}

	v := &Verifier{byAlg: make(map[string]*binding), jwks: jwks, sessions: sessions}
	if cfg.CacheSize >= 0 {
		size := cfg.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		v.cache = newTokenCache(size)
	}
	for _, sr := range sources {
		src := sr.src
		b := newBinding(src, leeway, sr.issuer, sr.audience)
		b.accessIssuer = sr.accessIssuer
		for _, alg := range src.algorithms() {
			if _, dup := v.byAlg[alg]; dup {
				// Two owners would make the keyfunc's choice arbitrary.
				return nil, fmt.Errorf("auth: algorithm %s claimed by two key sources", alg)
			}
			v.byAlg[alg] = b
		}
	}

	// WithValidMethods is belt and braces: the keyfunc also refuses
	// algorithms no source owns.
	methods := make([]string, 0, len(v.byAlg))
	for alg := range v.byAlg {
		methods = append(methods, alg)
	}
	slices.Sort(methods)
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(methods),
		jwt.WithStrictDecoding(),
		jwt.WithoutClaimsValidation(),
	)
	if jwks != nil {
		if v.cache != nil {
			// A token verified by a key that has left the set must not
			// stay accepted from the cache.
			jwks.onChange = v.cache.flush
		}
		jwks.start()
	}
	return v, nil
}

// Close stops the JWKS refresh goroutine, if any, and waits for it. Verify
// keeps working afterwards with the keys already known. Close is idempotent.
func (v *Verifier) Close() error {
	if v.jwks != nil {
		v.jwks.close()
	}
	if v.sessions != nil {
		v.sessions.close()
	}
	return nil
}

// newBinding pairs src with the claim rules its tokens must satisfy.
func newBinding(src keySource, leeway time.Duration, issuer, audience string) *binding {
	opts := []jwt.ParserOption{
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		// jwt v5 always checks nbf (with leeway) when present, but checks
		// iat only on request; a token issued in the future is as suspect
		// as one not yet valid.
		jwt.WithIssuedAt(),
	}
	return &binding{
		source:   src,
		claims:   jwt.NewValidator(opts...),
		issuer:   issuer,
		audience: audience,
	}
}

// Algorithms lists the JWS algorithms the configured key sources can verify,
// sorted. It is meant for start-up logging.
func (v *Verifier) Algorithms() []string {
	algs := make([]string, 0, len(v.byAlg))
	for alg := range v.byAlg {
		algs = append(algs, alg)
	}
	slices.Sort(algs)
	return algs
}

// Verify checks token's size, encoding, signature and claims and returns the
// user it was issued for. Every failure wraps todoapi.ErrUnauthenticated and
// carries a short fixed reason, safe for a debug log: it never contains the
// token or values taken from it. ctx bounds any key lookup a source needs to
// make (the secret needs none; a JWKS source may wait for a refresh).
//
// With session tokens configured, a token that is not shaped like a JWT is
// looked up at Better Auth instead (see SessionConfig). When Better Auth
// cannot be asked (down, or the lookup rate is spent) the error wraps
// todoapi.ErrAuthUnavailable instead: that is no verdict on the token.
func (v *Verifier) Verify(ctx context.Context, token string) (todoapi.User, error) {
	return v.VerifyResource(ctx, token, "")
}

// VerifyResource is Verify for a request to another protected resource of
// this server than the REST API, named by its resource identifier (the MCP
// endpoint's URL). Besides what Verify accepts, it accepts OAuth access
// tokens (RFC 9068) issued for that resource: those whose aud names it.
// Verify, in turn, refuses an access token whose aud does not name the REST
// API's audience, so that a token granted to an agent for one resource
// opens no other. An empty resource is the REST API.
func (v *Verifier) VerifyResource(ctx context.Context, token, resource string) (todoapi.User, error) {
	if token == "" {
		return todoapi.User{}, reject("empty token")
	}
	if len(token) > MaxTokenBytes {
		return todoapi.User{}, reject("token too large")
	}
	if v.sessions != nil && !wellFormed(token) {
		return v.sessions.verify(ctx, token)
	}
	if v.cache == nil {
		g, err := v.verifyExp(ctx, token)
		if err != nil {
			return todoapi.User{}, err
		}
		return g.userAt(resource)
	}
	key := cacheKey(token)
	now := time.Now()
	if g, ok := v.cache.get(key, now); ok {
		return g.userAt(resource)
	}
	gen := v.cache.generation()
	g, err := v.verifyExp(ctx, token)
	if err != nil {
		return todoapi.User{}, err
	}
	v.cache.put(key, g, gen, now)
	return g.userAt(resource)
}

// grant is what a verified token allows: its user, until exp, at the
// resources its audience names. The cache keeps grants, so that one token
// checked for one resource is not re-verified for another.
type grant struct {
	user todoapi.User
	exp  time.Time
	aud  jwt.ClaimStrings
	// access marks an OAuth access token (typ at+jwt), which is issued for
	// the resources its aud names and for nothing else.
	access bool
	// apiAudience is the aud the REST API requires of the binding that
	// verified the token; "" when it requires none.
	apiAudience string
}

// userAt returns g's user if g may be used at resource.
func (g grant) userAt(resource string) (todoapi.User, error) {
	if err := g.allows(resource); err != nil {
		return todoapi.User{}, err
	}
	return g.user, nil
}

// allows reports whether g may be used at resource ("" for the REST API).
//
//   - The REST API requires its audience when one is configured. When none
//     is, it takes any token but an access token, whose audience is some
//     resource and so not the API.
//   - Another resource takes what the REST API takes, and also tokens whose
//     aud names it.
func (g grant) allows(resource string) error {
	if g.apiAudience != "" && slices.Contains(g.aud, g.apiAudience) {
		return nil
	}
	if resource != "" && slices.Contains(g.aud, resource) {
		return nil
	}
	if g.apiAudience == "" && !g.access {
		return nil
	}
	if len(g.aud) == 0 {
		return reject("missing aud claim")
	}
	return reject("audience mismatch")
}

// verifyExp checks token, bypassing the cache, and returns what it allows.
func (v *Verifier) verifyExp(ctx context.Context, token string) (grant, error) {
	if !wellFormed(token) {
		return grant{}, reject("malformed token")
	}

	var (
		claims tokenClaims
		used   *binding
	)
	keyfunc := func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			// RFC 7515 §4.1.11: extensions we do not understand must not
			// be ignored, and we understand none.
			return nil, reject("unsupported critical header")
		}
		b, ok := v.byAlg[t.Method.Alg()]
		if !ok {
			return nil, reject("unsupported algorithm")
		}
		key, err := b.source.key(ctx, t)
		if err != nil {
			return nil, err
		}
		used = b
		return key, nil
	}

	parsed, err := v.parser.ParseWithClaims(token, &claims, keyfunc)
	if err != nil {
		return grant{}, parseFailure(err, parsed, v)
	}
	if err := used.claims.Validate(&claims); err != nil {
		return grant{}, used.claimsFailure(err, &claims)
	}
	// RFC 9068 §2.1: access tokens are typed at+jwt (application/at+jwt).
	typ, _ := parsed.Header["typ"].(string)
	access := strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), "at+jwt")
	if err := used.checkIssuer(claims.Issuer, access); err != nil {
		return grant{}, err
	}
	if access && claims.clientOnly() {
		// A client-credentials grant: the token is the client's own, and
		// its sub names the client, which is nobody's account here.
		return grant{}, reject("access token of a client, not a user")
	}
	u, err := claims.user()
	if err != nil {
		return grant{}, err
	}
	// Validate required exp, so ExpiresAt is set.
	return grant{user: u, exp: claims.ExpiresAt.Time, aud: claims.Audience, access: access, apiAudience: used.audience}, nil
}

// checkIssuer enforces the binding's issuer: the configured one, or for an
// access token the access-token issuer as well.
func (b *binding) checkIssuer(iss string, access bool) error {
	switch {
	case b.issuer == "" || iss == b.issuer:
		return nil
	case access && b.accessIssuer != "" && iss == b.accessIssuer:
		return nil
	case iss == "":
		return reject("missing iss claim")
	}
	return reject("issuer mismatch")
}

// wellFormed reports whether token consists only of base64url characters and
// exactly two dots. The base64 decoder would otherwise silently skip CR and
// LF, accepting several spellings of one token.
func wellFormed(token string) bool {
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return dots == 2
}

// parseFailure turns an error from the jwt parser into a rejection with a
// fixed reason. The parser's own messages are not passed on because some of
// them quote decoded token content.
func parseFailure(err error, parsed *jwt.Token, v *Verifier) error {
	var r *rejection
	switch {
	case errors.As(err, &r):
		return r
	case errors.Is(err, jwt.ErrTokenMalformed):
		return reject("malformed token")
	case parsed != nil && parsed.Method != nil && v.byAlg[parsed.Method.Alg()] == nil,
		errors.Is(err, jwt.ErrTokenUnverifiable):
		// The parser reports an algorithm outside WithValidMethods as a
		// signature error, and an unknown or missing alg as unverifiable.
		return reject("unsupported algorithm")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return reject("invalid signature")
	}
	return reject("invalid token")
}

// claimsFailure names the first claim problem in err, which may join several.
func (b *binding) claimsFailure(err error, c *tokenClaims) error {
	switch {
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case c.ExpiresAt == nil:
			return reject("missing exp claim")
		}
		return reject("missing required claim")
	case errors.Is(err, jwt.ErrTokenExpired):
		return reject("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return reject("token not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return reject("token issued in the future")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return reject("issuer mismatch")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return reject("audience mismatch")
	}
	return reject("invalid claims")
}

// rejection is the error Verify returns. Its message is
// "not authenticated: <reason>" and it unwraps to todoapi.ErrUnauthenticated.
type rejection struct{ reason string }

func reject(reason string) *rejection { return &rejection{reason: reason} }

func (r *rejection) Error() string { return todoapi.ErrUnauthenticated.Error() + ": " + r.reason }

func (r *rejection) Unwrap() error { return todoapi.ErrUnauthenticated }
