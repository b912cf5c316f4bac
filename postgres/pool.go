package postgres

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool defaults, sized for a small serverless database (Neon) shared by a
// few replicas. Each can be changed by Options or by the URL parameter named
// in Options.
const (
	DefaultMaxConns = 10
	// Idle connections close after a minute, so that a quiet service holds
	// no connection and the database can scale to zero.
	DefaultMaxConnIdleTime = time.Minute
	// Connections are replaced after half an hour (plus up to five minutes
	// of jitter, so that replicas do not reconnect in step), which spreads
	// load onto a compute that was resized or restarted.
	DefaultMaxConnLifetime       = 30 * time.Minute
	DefaultMaxConnLifetimeJitter = 5 * time.Minute
	// The pool looks for idle and expired connections to close this often.
	DefaultHealthCheckPeriod = 30 * time.Second
	// Each new connection must be up within this time; it leaves room for a
	// serverless database to wake from zero (usually well under a second on
	// Neon) and fails a request on a database that is down well before a
	// client gives up.
	DefaultConnectTimeout = 5 * time.Second
	// A statement (a migration's excepted) gives up after this long, its
	// caller gone or not. It is a safety net for when no server answers even
	// though the connection stands: a transaction pooler queues a statement
	// until a server connection is free (PgBouncer's query_wait_timeout,
	// 120s on Neon), and a hung server never answers at all.
	DefaultQueryTimeout = 10 * time.Second
)

// configure turns a URL and options into a pool configuration. It also
// returns the URL's password, for redacting errors.
func configure(rawURL string, opt Options) (*pgxpool.Config, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// url.Parse errors quote the whole URL, password included.
		return nil, "", errors.New("the URL must look like postgres://user:password@host:port/database")
	}
	password, _ := u.User.Password()
	q := u.Query()

	// pgbouncer=true (as Prisma spells it) is ours, not a server setting:
	// pgx would send it to the server, which refuses unknown settings.
	pooled, forced := false, false
	if q.Has("pgbouncer") {
		b, err := strconv.ParseBool(q.Get("pgbouncer"))
		if err != nil {
			return nil, password, errors.New("the URL parameter pgbouncer must be true or false")
		}
		pooled, forced = b, true
		q.Del("pgbouncer")
		u.RawQuery = q.Encode()
		rawURL = u.String()
	}
	if !forced {
		pooled = LooksPooled(u.Hostname(), u.Port())
	}

	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, password, err
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	} else if !q.Has("pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if !q.Has("pool_min_conns") {
		cfg.MinConns = 0 // an idle service keeps no connection open
	}
	setDuration(&cfg.MaxConnIdleTime, opt.MaxConnIdleTime, q, "pool_max_conn_idle_time", DefaultMaxConnIdleTime)
	setDuration(&cfg.MaxConnLifetime, opt.MaxConnLifetime, q, "pool_max_conn_lifetime", DefaultMaxConnLifetime)
	setDuration(&cfg.MaxConnLifetimeJitter, 0, q, "pool_max_conn_lifetime_jitter", min(DefaultMaxConnLifetimeJitter, cfg.MaxConnLifetime/4))
	setDuration(&cfg.HealthCheckPeriod, opt.HealthCheckPeriod, q, "pool_health_check_period", DefaultHealthCheckPeriod)
	setDuration(&cfg.ConnConfig.ConnectTimeout, opt.ConnectTimeout, q, "connect_timeout", DefaultConnectTimeout)
	// The ping before an idle connection's reuse is bounded like a
	// statement: by the query timeout, or the connect timeout when that is
	// shorter. Without a bound it would wait for the request's whole
	// deadline on a host that vanished without closing the connection, and
	// through a transaction pooler whose database is down the ping is
	// queued like any statement; bounded only by the connect timeout, the
	// first request after an outage waited that long instead of the query
	// timeout.
	setDuration(&cfg.PingTimeout, 0, q, "pool_ping_timeout", min(cfg.ConnConfig.ConnectTimeout, opt.queryTimeout()))

	if !q.Has("default_query_exec_mode") {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
		if pooled {
			// A transaction pooler may run each transaction on another
			// server connection, where the named prepared statements
			// cached for this client connection do not exist. Exec mode
			// sends each query with the unnamed statement, parse to
			// result in one round trip, and keeps nothing on the server.
			cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
		}
	}

	// A statement outside a transaction, and a transaction's first, gets
	// the query timeout (statementTimeout), so that no request waits on a
	// server that does not answer for longer than that.
	cfg.ConnConfig.Tracer = statementTimeout(opt.queryTimeout())

	// Ping a connection before use when it has been idle a while (pgxpool's
	// rule) or when the server has sent something on it while it was idle,
	// which is how a server says it closed the connection: then the request
	// gets a fresh connection instead of a broken one.
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration > time.Second || pendingInput(p.Conn.PgConn().Conn())
	}
	return cfg, password, nil
}

func (o Options) queryTimeout() time.Duration {
	if o.QueryTimeout > 0 {
		return o.QueryTimeout
	}
	return DefaultQueryTimeout
}

// setDuration sets *dst to opt when it is positive, else leaves the value
// pgx parsed from URL parameter param when the URL has it, else sets def.
func setDuration(dst *time.Duration, opt time.Duration, q url.Values, param string, def time.Duration) {
	switch {
	case opt > 0:
		*dst = opt
	case !q.Has(param):
		*dst = def
	}
}

// LooksPooled reports whether a database host is, by its name or port, a
// connection pooler that may run in transaction mode: Neon's -pooler
// endpoints (ep-…-pooler.region.aws.neon.tech), Supabase's
// *.pooler.supabase.com, a host named for PgBouncer, or PgBouncer's port
// 6432 and Supabase's transaction port 6543. The URL parameter
// pgbouncer=true|false overrides the guess.
func LooksPooled(host, port string) bool {
	host = strings.ToLower(host)
	return strings.Contains(host, "pooler") || strings.Contains(host, "pgbouncer") ||
		port == "6432" || port == "6543"
}

// pendingInput reports, without reading anything, whether an idle
// connection has bytes or an end of stream waiting: a server that ends a
// session (restart, scale to zero, an idle timeout, pg_terminate_backend)
// sends an error and closes, while a healthy idle connection is silent.
func pendingInput(c net.Conn) bool {
	for {
		inner, ok := c.(interface{ NetConn() net.Conn }) // *tls.Conn
		if !ok {
			break
		}
		c = inner.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	// Control, not Read: pgconn may have left a read parked on the socket
	// (its background reader), which Read would wait behind. The peek does
	// not block and consumes nothing.
	pending := false
	err = raw.Control(func(fd uintptr) { pending = peek(fd) })
	return pending || err != nil
}

// statementTimeout bounds statements sent outside a transaction, BEGIN
// included, by a deadline of its length; the caller's own deadline still
// applies when it is earlier. Statements inside a transaction are bounded
// by it too, except in a migration (see withoutStatementTimeout), which may
// rightly wait for another replica's.
//
// A statement also outlives its caller's cancellation, bounded by those
// deadlines: pgx closes a connection whose statement is cancelled (the
// protocol cannot tell which result a cancel hit), so a client that hangs
// up would cost the pool a connection and the next request a new one, on
// Neon a TLS and SCRAM handshake. The caller still gets its answer as soon
// as the statement ends, and one that is cancelled before its statement
// starts fails at once, as before.
type statementTimeout time.Duration

type cancelKey struct{}

type noTimeoutKey struct{}

// withoutStatementTimeout marks ctx as a migration's, whose statements
// may wait as long as ctx allows.
func withoutStatementTimeout(ctx context.Context) context.Context {
	return context.WithValue(ctx, noTimeoutKey{}, true)
}

func (d statementTimeout) TraceQueryStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if ctx.Err() != nil || ctx.Value(noTimeoutKey{}) != nil {
		return ctx
	}
	deadline := time.Now().Add(time.Duration(d))
	if own, ok := ctx.Deadline(); ok && own.Before(deadline) {
		deadline = own
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	return context.WithValue(ctx, cancelKey{}, cancel)
}

func (statementTimeout) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}
