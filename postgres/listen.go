package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChangesChannel is the channel notified, right after every write commits
// (notify.go says why not inside it), with the id of the user whose tasks
// changed as the payload, so a listener that hears "alice" will find
// alice's change in her feed.
const ChangesChannel = "todoapi_changes"

// Publisher is what a Listener feeds: todoapi.Hub.
type Publisher interface {
	// Publish wakes the followers of one user.
	Publish(userID string)
	// PublishAll wakes every follower, after notifications may have been
	// missed.
	PublishAll()
}

// Followers is implemented by publishers that know whether anyone follows
// (todoapi.Hub): a Listener feeding one holds its connection only while
// someone does, so that a database that scales to zero when unused (Neon)
// can still do so while no stream is open.
type Followers interface {
	// Subscribers is how many follow now.
	Subscribers() int
	// Followed receives a value when the first one starts following.
	Followed() <-chan struct{}
}

// ErrNoSessionURL means DATABASE_URL is a transaction-mode pooler, which
// cannot hold a LISTEN, and no session URL was given.
var ErrNoSessionURL = errors.New("the database URL is a transaction-mode pooler, which cannot hold a LISTEN, and DATABASE_DIRECT_URL is not set")

// ListenURL returns the URL to LISTEN on: direct when given, else a URL of
// the same database that holds a session. LISTEN needs one connection that
// stays the client's for as long as it listens, which a transaction-mode
// pooler (PgBouncer, Neon's -pooler hosts) does not give: it hands the
// server connection to other clients between transactions. Neon's direct
// host is its pooler host without "-pooler", so that one is derived; for
// other poolers it returns ErrNoSessionURL.
func ListenURL(databaseURL, direct string) (string, error) {
	if direct != "" {
		return direct, nil
	}
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("the URL must look like postgres://user:password@host:port/database")
	}
	q := u.Query()
	host := u.Hostname()
	if first, rest, ok := strings.Cut(host, "."); ok && strings.HasSuffix(first, "-pooler") {
		// ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech
		port := u.Port()
		u.Host = strings.TrimSuffix(first, "-pooler") + "." + rest
		if port != "" {
			u.Host += ":" + port
		}
		q.Del("pgbouncer")
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	pooled := LooksPooled(host, u.Port())
	if q.Has("pgbouncer") {
		pooled = q.Get("pgbouncer") == "true" || q.Get("pgbouncer") == "1"
	}
	if pooled {
		return "", ErrNoSessionURL
	}
	return databaseURL, nil
}

// Listener holds one session connection that LISTENs on ChangesChannel and
// publishes every notification. When the connection drops it reconnects,
// backing off, and then wakes every follower, since notifications sent
// while it was away are lost: each follower reads its feed once, which
// covers them.
type Listener struct {
	cfg  *pgx.ConnConfig
	pub  Publisher
	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}

	mu        sync.Mutex
	connected chan struct{} // closed while connected; replaced on a drop

	// MinBackoff and MaxBackoff bound the wait between reconnects.
	minBackoff, maxBackoff time.Duration
	// ping is how long the connection may stay silent before it is checked.
	ping time.Duration
	// idle is how long the connection stays open with no one following.
	idle time.Duration
	// onIdle, when set, is called after the connection was closed for want
	// of followers (tests).
	onIdle func()
}

// errIdle ends a connection that no one needs.
var errIdle = errors.New("no one follows")

// Listen starts listening at rawURL (see ListenURL) in the background and
// feeds pub. It returns at once; the first connection is made in the
// background too, so that a database that is slow to wake up delays
// nothing. When pub implements Followers, the connection is held only
// while someone follows, and closed once no one has for the pool's idle
// time (DB_MAX_CONN_IDLE_TIME): the first stream to open then waits for the
// connection and is woken once it stands. Close stops it.
func Listen(rawURL string, opt Options, pub Publisher, log *slog.Logger) (*Listener, error) {
	poolCfg, password, err := configure(rawURL, opt)
	if err != nil {
		return nil, redact(fmt.Errorf("listen: %w", err), password)
	}
	cfg := poolCfg.ConnConfig.Copy()
	cfg.Tracer = nil // no statement time limit: waiting is the point
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "todoapi-listen"
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		cfg: cfg, pub: pub, log: log, stop: cancel, done: make(chan struct{}),
		connected:  make(chan struct{}),
		minBackoff: 100 * time.Millisecond, maxBackoff: 10 * time.Second,
		ping: 30 * time.Second,
		idle: poolCfg.MaxConnIdleTime,
	}
	go l.run(ctx, password)
	return l, nil
}

// Close stops listening and waits for the connection to close.
func (l *Listener) Close() {
	l.stop()
	<-l.done
}

// Connected returns a channel that is closed once the listener is
// listening; after a drop, a new channel for the next connection.
func (l *Listener) Connected() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.connected
}

func (l *Listener) run(ctx context.Context, password string) {
	defer close(l.done)
	backoff := l.minBackoff
	followers, onDemand := l.pub.(Followers)
	for ctx.Err() == nil {
		if onDemand && followers.Subscribers() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-followers.Followed():
			}
			continue // the signal may be stale: check again
		}
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errIdle) {
			l.mu.Lock()
			l.connected = make(chan struct{})
			l.mu.Unlock()
			backoff = l.minBackoff
			if l.onIdle != nil {
				l.onIdle()
			}
			continue
		}
		l.mu.Lock()
		select {
		case <-l.connected:
			// It was listening: start the back-off afresh.
			l.connected = make(chan struct{})
			backoff = l.minBackoff
		default:
		}
		l.mu.Unlock()
		l.log.Warn("listening for changes failed; live events from other replicas wait until it reconnects",
			"err", redact(err, password).Error(), "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, l.maxBackoff)
	}
}

// listen connects, LISTENs and publishes notifications until the
// connection fails or ctx ends.
func (l *Listener) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+ChangesChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Whatever was notified before this connection listened is lost.
	l.pub.PublishAll()
	l.mu.Lock()
	close(l.connected)
	l.mu.Unlock()
	followers, onDemand := l.pub.(Followers)
	wait := l.ping
	if onDemand {
		wait = min(wait, max(l.idle/2, 10*time.Millisecond))
	}
	var unfollowed time.Time // since when no one follows
	for {
		if onDemand && followers.Subscribers() == 0 {
			if unfollowed.IsZero() {
				unfollowed = time.Now()
			} else if time.Since(unfollowed) >= l.idle {
				return errIdle
			}
		} else {
			unfollowed = time.Time{}
		}
		waitCtx, cancel := context.WithTimeout(ctx, wait)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			l.pub.Publish(n.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Silence for a while: make sure the connection still stands,
			// since a vanished server or network drops no connection.
			pingCtx, cancel := context.WithTimeout(ctx, l.cfg.ConnectTimeout+time.Second)
			err = conn.Ping(pingCtx)
			cancel()
			if err == nil {
				continue
			}
		}
		return fmt.Errorf("wait for notification: %w", err)
	}
}
