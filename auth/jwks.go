package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWKS defaults; JWKSConfig's zero values select them.
const (
	// DefaultJWKSRefreshInterval is how often the key set is re-read when
	// nothing asks for it sooner. Better Auth publishes a new key well
	// before it signs with it only when rotation is configured; an unknown
	// kid triggers a refresh anyway, so this mostly retires removed keys.
	DefaultJWKSRefreshInterval = 10 * time.Minute

	// DefaultJWKSMinRefreshInterval is the cool-down between two fetches
	// triggered by tokens naming an unknown kid: a flood of such tokens
	// costs the auth server at most one request per cool-down per replica,
	// and a token signed by a freshly rotated key waits at most this long.
	DefaultJWKSMinRefreshInterval = 30 * time.Second

	// DefaultJWKSTimeout bounds one fetch: connecting, sending and reading
	// the whole response.
	DefaultJWKSTimeout = 10 * time.Second

	// DefaultJWKSMaxBytes bounds a JWKS response body. Better Auth's set
	// with a few RSA keys is a few KiB.
	DefaultJWKSMaxBytes = 1 << 20

	// firstRetry is the first delay after a failed fetch; it doubles up to
	// the cool-down, so an auth server that comes up after todoapi is
	// noticed within seconds.
	firstRetry = time.Second
)

// JWKSConfig configures verification with keys read from a JSON Web Key Set,
// such as Better Auth's BETTER_AUTH_URL/api/auth/jwks.
type JWKSConfig struct {
	// URL of the key set. Empty: no JWKS source.
	URL string

	// Issuer and Audience, when non-empty, must match the iss claim and be
	// contained in the aud claim of tokens verified by these keys. Better
	// Auth sets both to its base URL's origin.
	Issuer, Audience string

	// RefreshInterval is how often the set is re-read; zero means
	// DefaultJWKSRefreshInterval.
	RefreshInterval time.Duration

	// MinRefreshInterval is the cool-down between fetches triggered by an
	// unknown kid, and the longest delay between retries after a failed
	// fetch; zero means DefaultJWKSMinRefreshInterval. It must not exceed
	// RefreshInterval.
	MinRefreshInterval time.Duration

	// Timeout bounds one fetch; zero means DefaultJWKSTimeout. Ignored when
	// Client is set (the client's own Timeout applies).
	Timeout time.Duration

	// MaxBytes bounds the response body; zero means DefaultJWKSMaxBytes.
	MaxBytes int64

	// Client, when set, replaces the default client (a plain transport with
	// Timeout). Tests use it; so could a deployment needing a proxy.
	Client *http.Client

	// Logger receives refresh outcomes; nil discards them.
	Logger *slog.Logger

	// OnRefresh, when set, is called after every fetch with its outcome
	// (nil on success), for metrics.
	OnRefresh func(err error)
}

// jwksSource verifies EdDSA, ES256, ES512, RS256 and PS256 tokens with the
// keys of a JWKS, selected by the token's kid and alg.
//
// One goroutine owns every fetch: the periodic refresh, retries after a
// failure, and refreshes asked for by tokens with an unknown kid. Asking
// for a refresh while one is pending joins it, so concurrent misses share
// one request; asking within the cool-down of the last fetch gets no fetch
// at all and the token is rejected at once.
type jwksSource struct {
	url         string
	client      *http.Client
	maxBytes    int64
	interval    time.Duration
	minInterval time.Duration
	log         *slog.Logger
	onRefresh   func(error)
	// onChange is called after a fetched set replaced a different one; the
	// Verifier flushes its token cache there.
	onChange func()

	keys atomic.Pointer[keySet]

	mu        sync.Mutex
	pending   *fetchCall // the fetch that askers join; nil when none
	lastFetch time.Time  // start of the latest fetch, for the cool-down
	closed    bool

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	now    func() time.Time
}

// fetchCall is one fetch that callers can wait for.
type fetchCall struct {
	done chan struct{}
	err  error
}

func newJWKSSource(cfg JWKSConfig) (*jwksSource, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("auth: JWKS URL must be an absolute http:// or https:// URL")
	}
	s := &jwksSource{
		url:         cfg.URL,
		client:      cfg.Client,
		maxBytes:    cfg.MaxBytes,
		interval:    cfg.RefreshInterval,
		minInterval: cfg.MinRefreshInterval,
		log:         cfg.Logger,
		onRefresh:   cfg.OnRefresh,
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		now:         time.Now,
	}
	if s.interval == 0 {
		s.interval = DefaultJWKSRefreshInterval
	}
	if s.minInterval == 0 {
		s.minInterval = min(DefaultJWKSMinRefreshInterval, s.interval)
	}
	if s.interval < 0 || s.minInterval < 0 || s.minInterval > s.interval {
		return nil, fmt.Errorf("auth: JWKS refresh interval %s and cool-down %s must be positive, the cool-down no longer than the interval", s.interval, s.minInterval)
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultJWKSMaxBytes
	}
	if s.client == nil {
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = DefaultJWKSTimeout
		}
		s.client = &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				TLSHandshakeTimeout:   timeout,
				ResponseHeaderTimeout: timeout,
				MaxIdleConns:          2,
				IdleConnTimeout:       time.Minute,
				ForceAttemptHTTP2:     true,
			},
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// start begins fetching: once now, then periodically, until close.
func (s *jwksSource) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.loop(ctx)
}

// close stops the refresh goroutine and waits for it; a fetch in progress
// is aborted. Later lookups use the keys already known and fetch no more.
func (s *jwksSource) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	<-s.done
	// Keep-alive connections have goroutines of their own.
	s.client.CloseIdleConnections()
}

func (s *jwksSource) algorithms() []string { return slices.Clone(jwksAlgorithms) }

// key returns the public key for t's kid and alg, fetching the set once more
// when the kid is unknown and the cool-down allows.
func (s *jwksSource) key(ctx context.Context, t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, reject("missing kid")
	}
	if len(kid) > maxKIDBytes {
		return nil, reject("unknown key id")
	}
	alg := t.Method.Alg()
	k, known := s.keys.Load().lookup(kid, alg)
	if k.key != nil {
		return k.key, nil
	}
	if known {
		// The set has this kid for another algorithm: a refresh would
		// not change that, and the key must not verify a different alg.
		return nil, reject("key algorithm mismatch")
	}

	call := s.requestFetch()
	if call == nil {
		return nil, reject("unknown key id")
	}
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, reject("unknown key id")
	}
	if k, known = s.keys.Load().lookup(kid, alg); k.key != nil {
		return k.key, nil
	}
	if known {
		return nil, reject("key algorithm mismatch")
	}
	return nil, reject("unknown key id")
}

// requestFetch returns the pending fetch, creating one unless the last fetch
// started less than a cool-down ago; nil means no fetch will happen.
func (s *jwksSource) requestFetch() *fetchCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if s.pending != nil {
		return s.pending
	}
	if !s.lastFetch.IsZero() && s.now().Sub(s.lastFetch) < s.minInterval {
		return nil
	}
	s.pending = &fetchCall{done: make(chan struct{})}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return s.pending
}

// loop performs every fetch. It fetches at once, then when the refresh
// interval elapses or a lookup asks, and after a failure retries with a
// delay that doubles from one second up to the cool-down.
func (s *jwksSource) loop(ctx context.Context) {
	defer close(s.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			if call := s.pending; call != nil {
				s.pending = nil
				call.err = ctx.Err()
				close(call.done)
			}
			s.mu.Unlock()
			return
		case <-timer.C:
		case <-s.wake:
		}

		s.mu.Lock()
		call := s.pending
		if call == nil {
			// A timed refresh: lookups that miss meanwhile join it.
			call = &fetchCall{done: make(chan struct{})}
			s.pending = call
		}
		// This fetch serves whoever asked: drop a wake-up that raced with
		// the timer, or it would cause a second fetch right after.
		select {
		case <-s.wake:
		default:
		}
		s.lastFetch = s.now()
		s.mu.Unlock()

		err := s.fetch(ctx)

		s.mu.Lock()
		s.pending = nil
		s.mu.Unlock()
		call.err = err
		close(call.done)

		if s.onRefresh != nil && ctx.Err() == nil {
			s.onRefresh(err)
		}
		next := s.interval
		if err != nil {
			failures++
			next = min(firstRetry<<min(failures-1, 20), s.minInterval)
			if ctx.Err() == nil {
				s.logFailure(err, failures, next)
			}
		} else {
			failures = 0
		}
		// Since Go 1.23 Reset discards a pending expiry, so the timer
		// fires once, next from now.
		timer.Reset(next)
	}
}

func (s *jwksSource) logFailure(err error, failures int, retry time.Duration) {
	known := s.keys.Load()
	attrs := []any{"url", s.url, "err", err, "retry_in", retry}
	if known == nil {
		// Expected while the auth server starts after todoapi; tokens are
		// rejected until the first fetch succeeds.
		level := slog.LevelWarn
		if failures > 1 {
			level = slog.LevelInfo
		}
		s.log.Log(context.Background(), level, "JWKS not available yet; tokens signed by its keys are rejected until it is", attrs...)
		return
	}
	s.log.Warn("JWKS refresh failed; keeping the keys already known", append(attrs, "kids", known.kids)...)
}

// fetch reads the key set and installs it when it is usable.
func (s *jwksSource) fetch(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("fetch JWKS: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBytes+1))
	if err != nil {
		return fmt.Errorf("read JWKS: %w", err)
	}
	if int64(len(body)) > s.maxBytes {
		return fmt.Errorf("JWKS response larger than %d bytes", s.maxBytes)
	}
	ks, skipped, err := parseKeySet(body)
	old := s.keys.Load()
	if err == nil && old != nil && old.fingerprint == ks.fingerprint {
		// Unchanged; its unusable keys, if any, were reported when it
		// was first read.
		s.log.Debug("JWKS unchanged", "url", s.url, "kids", ks.kids)
		return nil
	}
	for _, msg := range skipped {
		s.log.Warn("JWKS key ignored", "url", s.url, "reason", msg)
	}
	if err != nil {
		return err
	}
	s.keys.Store(ks)
	if old == nil {
		s.log.Info("JWKS loaded", "url", s.url, "kids", ks.kids)
	} else {
		s.log.Info("JWKS changed", "url", s.url, "kids", ks.kids, "previous_kids", old.kids)
	}
	if old != nil && s.onChange != nil {
		s.onChange()
	}
	return nil
}

// redactURLError drops the URL from a client error; the URL is logged
// separately and once is enough.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
