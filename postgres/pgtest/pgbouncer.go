package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi/internal/testenv"
)

// PgBouncer is a PgBouncer in transaction pooling mode in front of a
// Cluster, as Neon's -pooler endpoints are: a client's consecutive
// transactions may run on different server connections, so session state
// (named prepared statements, session advisory locks, SET) does not carry
// over from one transaction to the next.
//
// Clients connect over TLS (it presents the cluster's certificate) and
// authenticate with SCRAM-SHA-256. Unlike Neon's pooler, which sits behind
// Neon's proxy, PgBouncer cannot do channel binding, so a URL for it must
// not say channel_binding=require.
type PgBouncer struct {
	Port int

	cluster *Cluster
}

// PgBouncerOptions tunes StartPgBouncer.
type PgBouncerOptions struct {
	// PoolSize is how many server connections each database may use
	// (default_pool_size). Default 4: fewer than the clients' connections,
	// so that clients share server connections.
	PoolSize int
}

// StartPgBouncer starts PgBouncer in front of c and stops it when t ends.
// Without the pgbouncer binary the test is skipped (failed under
// TODOAPI_NO_SKIP=1).
func StartPgBouncer(t testing.TB, c *Cluster, opt PgBouncerOptions) *PgBouncer {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/pgbouncer"); statErr != nil {
			testenv.Skip(t, "pgbouncer not installed (Debian package pgbouncer)")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	if opt.PoolSize <= 0 {
		opt.PoolSize = 4
	}
	b := &PgBouncer{Port: FreePort(t), cluster: c}

	dir := filepath.Join(c.dir, "pgbouncer-"+strconv.Itoa(b.Port))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A plain-text password lets PgBouncer answer the client's SCRAM
	// exchange and log in to the server with SCRAM itself.
	userlist := filepath.Join(dir, "userlist.txt")
	if err := os.WriteFile(userlist, fmt.Appendf(nil, "%q %q\n", c.User, c.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(dir, "pgbouncer.ini")
	conf := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = scram-sha-256
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
client_tls_sslmode = require
client_tls_cert_file = %s
client_tls_key_file = %s
server_tls_sslmode = require
; Neon's pooler keeps a query waiting for a server connection up to 120s.
query_wait_timeout = 120
; After a failed login to the server, PgBouncer refuses clients for this long
; (default 15s); short, so that tests see the server return quickly.
server_login_retry = 1
logfile =
pidfile =
`, c.Port, b.Port, userlist, opt.PoolSize, c.CertFile, c.KeyFile)
	if err := os.WriteFile(ini, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.chown(dir); err != nil {
		t.Fatal(err)
	}

	logPath := filepath.Join(dir, "pgbouncer.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := c.command(bin, ini) // PgBouncer, too, refuses to run as root
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	// Wait until it accepts logins (which also proves it reaches the server).
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, b.URL("postgres", "sslmode=require&default_query_exec_mode=exec"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return b
		}
		cancel()
		select {
		case <-done:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("pgbouncer exited while starting: %s\n%s", cmd.ProcessState, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("pgbouncer did not accept logins within 15s: %v\n%s", err, log)
		}
	}
}

// URL returns a connection string for database db through PgBouncer, with
// the cluster's credentials.
func (b *PgBouncer) URL(db, params string) string {
	return b.cluster.url("127.0.0.1", b.Port, db, params)
}

// Addr is PgBouncer's host:port.
func (b *PgBouncer) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port))
}
