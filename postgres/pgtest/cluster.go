package pgtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi/internal/testenv"
)

// BinDirVar names the environment variable that may point at the directory
// holding initdb and postgres. Without it, the newest
// /usr/lib/postgresql/*/bin (Debian's layout) is used, then $PATH.
const BinDirVar = "TODOAPI_PG_BINDIR"

// Cluster is a throwaway PostgreSQL server made for one test, configured the
// way Neon's endpoints are: TCP only, TLS required (a certificate signed by a
// CA of its own, valid for localhost and 127.0.0.1 but not for 127.0.0.2,
// where it listens too), and password
// authentication by SCRAM-SHA-256, so that SCRAM-SHA-256-PLUS (channel
// binding) is available. It can be stopped and started again, keeping its
// data and port, to imitate a database that scales to zero.
type Cluster struct {
	// User and Password are the superuser's credentials.
	User, Password string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// CAFile is the PEM certificate of the CA that signed the server's
	// certificate: the sslrootcert for sslmode=verify-full.
	CAFile string
	// CertFile and KeyFile are the server's certificate and key, which a
	// PgBouncer in front of the cluster may present too.
	CertFile, KeyFile string

	dir  string // everything of the cluster's lives in here
	data string
	bin  string
	cred *syscall.Credential // whom the server runs as when the test runs as root

	mu   sync.Mutex
	proc *exec.Cmd
	done chan struct{} // closed when proc exits
}

// StartCluster initializes a new cluster in a temporary directory, starts it
// and stops it and removes its files when t ends. Without the PostgreSQL
// server binaries the test is skipped (failed under TODOAPI_NO_SKIP=1).
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := binDir()
	if bin == "" {
		testenv.Skip(t, "PostgreSQL server binaries (initdb, postgres) not found; set "+BinDirVar)
	}
	cred, err := serverCredential()
	if err != nil {
		testenv.Skip(t, err.Error())
	}

	// Not t.TempDir: the server may run as another user, who must be able
	// to reach the directory, and a test's temporary directory is private.
	dir, err := os.MkdirTemp("", "todoapi-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	c := &Cluster{
		User:     "neondb_owner",
		Password: "npg_" + randomHex(),
		Port:     FreePort(t),
		CAFile:   filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "server.crt"),
		KeyFile:  filepath.Join(dir, "server.key"),
		dir:      dir,
		data:     filepath.Join(dir, "data"),
		bin:      bin,
		cred:     cred,
	}
	if err := writeCertificates(c.CAFile, c.CertFile, c.KeyFile); err != nil {
		t.Fatal(err)
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.chown(dir); err != nil {
		t.Fatal(err)
	}

	initdb := c.command(filepath.Join(bin, "initdb"), "-D", c.data, "-U", c.User,
		"--pwfile", pwfile, "--auth", "scram-sha-256", "--encoding", "UTF8",
		"--locale", "C", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1,127.0.0.2'
port = %d
unix_socket_directories = ''
max_connections = 100
shared_buffers = 32MB
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = %s
ssl_key_file = %s
# A throwaway cluster: durability buys nothing and costs seconds.
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
`, c.Port, quote(c.CertFile), quote(c.KeyFile))
	// Only TLS connections are accepted, and only with SCRAM, as on Neon.
	hba := "hostssl all all 127.0.0.0/8 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n"
	if err := appendFile(filepath.Join(c.data, "postgresql.conf"), conf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.chown(c.data); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { c.stop(syscall.SIGINT) })
	c.Start(t)
	return c
}

// URL returns a connection string for database db as Neon's console prints
// it: postgresql://USER:PASSWORD@HOST:PORT/DB?PARAMS, with host 127.0.0.1.
// params is a query string such as "sslmode=require&channel_binding=require".
func (c *Cluster) URL(db, params string) string {
	return c.url("127.0.0.1", c.Port, db, params)
}

// URLWithHost is URL with another host name for 127.0.0.1, such as
// localhost.
func (c *Cluster) URLWithHost(host, db, params string) string {
	return c.url(host, c.Port, db, params)
}

// URLAt is URL for a relay of the cluster listening on port of 127.0.0.1,
// such as a Proxy.
func (c *Cluster) URLAt(port int, db, params string) string {
	return c.url("127.0.0.1", port, db, params)
}

func (c *Cluster) url(host string, port int, db, params string) string {
	u := url.URL{
		Scheme:   "postgresql",
		User:     url.UserPassword(c.User, c.Password),
		Host:     net.JoinHostPort(host, strconv.Itoa(port)),
		Path:     "/" + db,
		RawQuery: params,
	}
	return u.String()
}

// CreateDatabase creates an empty database with a random name and returns
// the name. It is not dropped: the cluster goes away with the test.
func (c *Cluster) CreateDatabase(t testing.TB) string {
	t.Helper()
	name := "todoapi_" + randomHex()
	c.Exec(t, "CREATE DATABASE "+name)
	return name
}

// Exec runs sql in the postgres database as the superuser.
func (c *Cluster) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres", "sslmode=require"))
	if err != nil {
		t.Fatalf("connect to the test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TerminateConnections ends every other session on database db, as a
// server that closes idle connections does, and returns once those
// sessions have exited (so their goodbyes are on the wire).
func (c *Cluster) TerminateConnections(t testing.TB, db string) {
	t.Helper()
	c.Exec(t, `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, db)
}

// Start starts the server, after StartCluster or Stop, and waits until it
// accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		t.Fatal("pgtest: cluster already running")
	}
	logPath := filepath.Join(c.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := c.command(filepath.Join(c.bin, "postgres"), "-D", c.data)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// If the test binary dies, the server must not outlive it: SIGQUIT is
	// PostgreSQL's immediate shutdown.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	c.proc, c.done = cmd, done

	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres", "sslmode=require&connect_timeout=5"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return
		}
		cancel()
		select {
		case <-done:
			log, _ := os.ReadFile(logPath)
			c.proc = nil
			t.Fatalf("postgres exited while starting: %s\n%s", cmd.ProcessState, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("postgres did not accept connections within 30s: %v\n%s", err, log)
		}
	}
}

// Stop shuts the server down (fast shutdown: sessions are ended, as when a
// serverless database scales to zero) and waits until it has exited.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.stop(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

func (c *Cluster) stop(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	proc, done := c.proc, c.done
	c.proc, c.done = nil, nil
	proc.Process.Signal(sig)
	select {
	case <-done:
		return nil
	case <-time.After(30 * time.Second):
		proc.Process.Kill()
		<-done
		return errors.New("pgtest: postgres did not stop within 30s")
	}
}

// command runs name as the user the server runs as.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// chown gives everything under path to the server's user.
func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.cred.Uid), int(c.cred.Gid))
	})
}

// serverCredential says whom to run the server as: initdb and postgres
// refuse to run as root, so as root they run as the postgres user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root and there is no postgres user to run PostgreSQL as")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has uid %q, gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// binDir finds the directory holding initdb and postgres, or returns "".
func binDir() string {
	if d := os.Getenv(BinDirVar); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeCertificates makes a CA and a server certificate it signs, valid for
// localhost, 127.0.0.1 and ::1, and writes them as PEM files.
func writeCertificates(caFile, certFile, keyFile string) error {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "todoapi test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return errors.Join(
		writePEM(caFile, "CERTIFICATE", caDER, 0o644),
		writePEM(certFile, "CERTIFICATE", der, 0o644),
		// PostgreSQL refuses a key that others can read.
		writePEM(keyFile, "PRIVATE KEY", keyDER, 0o600),
	)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}

// quote makes s a single-quoted string for a configuration file.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
