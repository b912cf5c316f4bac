package postgres_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

func TestListenURL(t *testing.T) {
	for _, c := range []struct {
		url, direct, want string
		err               error
	}{
		// A direct URL wins.
		{"postgres://u:p@ep-x-pooler.eu.aws.neon.tech/db", "postgres://u:p@elsewhere/db", "postgres://u:p@elsewhere/db", nil},
		// Neon: the pooler host without -pooler; the pooler hint goes.
		{"postgresql://u:p@ep-cool-1234-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require", "",
			"postgresql://u:p@ep-cool-1234.eu-central-1.aws.neon.tech/neondb?channel_binding=require&sslmode=require", nil},
		{"postgres://u:p@ep-a-pooler.neon.tech:5432/db?pgbouncer=true", "", "postgres://u:p@ep-a.neon.tech:5432/db", nil},
		// Other poolers cannot be turned into a session URL.
		{"postgres://u:p@db.pooler.supabase.com:6543/postgres", "", "", postgres.ErrNoSessionURL},
		{"postgres://u:p@127.0.0.1:6432/db", "", "", postgres.ErrNoSessionURL},
		{"postgres://u:p@127.0.0.1:7000/db?pgbouncer=true", "", "", postgres.ErrNoSessionURL},
		// A session URL is used as it is.
		{"postgres://u:p@127.0.0.1:5432/db", "", "postgres://u:p@127.0.0.1:5432/db", nil},
		{"postgres://u:p@127.0.0.1:6432/db?pgbouncer=false", "", "postgres://u:p@127.0.0.1:6432/db?pgbouncer=false", nil},
	} {
		got, err := postgres.ListenURL(c.url, c.direct)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("ListenURL(%q, %q) = %q, %v; want %q, %v", c.url, c.direct, got, err, c.want, c.err)
		}
	}
}

// waitWake waits for a wake-up on c, failing after a generous time.
func waitWake(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		t.Fatalf("no wake-up for %s within 30s", what)
	}
}

func TestListenerDeliversAndRecovers(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	hub := todoapi.NewHub()
	l, err := postgres.Listen(url, postgres.Options{}, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	alice, cancel := hub.Subscribe("alice")
	defer cancel()
	bob, cancel := hub.Subscribe("bob")
	defer cancel()
	carol, cancel := hub.Subscribe("carol")
	defer cancel()
	// The listener connects once someone follows, and then wakes everyone
	// (nothing was heard before it listened).
	select {
	case <-l.Connected():
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not connect within 30s")
	}
	for _, c := range []<-chan struct{}{alice, bob, carol} {
		waitWake(t, c, "a follower after the listener connected")
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	notify := func(user string) {
		t.Helper()
		if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", postgres.ChangesChannel, user); err != nil {
			t.Fatal(err)
		}
	}
	notify("alice")
	notify("bob")
	waitWake(t, bob, "bob")
	// Notifications arrive in order: alice's came before bob's, and
	// nothing was sent for carol.
	select {
	case <-alice:
	default:
		t.Fatal("alice's notification was not delivered before bob's")
	}
	select {
	case <-carol:
		t.Fatal("carol was woken by notifications for others")
	default:
	}

	// The listening connection dies: the listener reconnects and wakes
	// everyone, since it may have missed notifications meanwhile.
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity
		WHERE application_name = 'todoapi-listen' AND datname = current_database()`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listening connections (%v), want 1", killed, err)
	}
	waitWake(t, carol, "carol after the listener reconnected")
	select {
	case <-l.Connected():
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not reconnect within 30s")
	}
	// Drain the wake-ups of the reconnection, then listen again.
	for _, c := range []<-chan struct{}{alice, bob} {
		select {
		case <-c:
		default:
		}
	}
	notify("alice")
	waitWake(t, alice, "alice after the reconnection")
}

// TestListenerOnlyWhileFollowed: the listening connection opens when the
// first follower comes and closes once none has been left for the idle
// time, so that a serverless database can scale to zero meanwhile.
func TestListenerOnlyWhileFollowed(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	hub := todoapi.NewHub()
	l, err := postgres.Listen(url, postgres.Options{}, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	idled := make(chan struct{}, 1)
	l.SetIdle(50*time.Millisecond, func() { idled <- struct{}{} })
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	listening := func() int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*)::int FROM pg_stat_activity
			WHERE application_name = 'todoapi-listen' AND datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for round := range 2 {
		wake, cancel := hub.Subscribe("alice")
		select {
		case <-l.Connected():
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the listener did not connect within 30s of a follower", round)
		}
		if n := listening(); n != 1 {
			t.Fatalf("round %d: %d listening connections while followed, want 1", round, n)
		}
		waitWake(t, wake, "alice when the listener connected")
		if _, err := conn.Exec(ctx, "SELECT pg_notify($1, 'alice')", postgres.ChangesChannel); err != nil {
			t.Fatal(err)
		}
		waitWake(t, wake, "alice's notification")
		cancel()
		select {
		case <-idled:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the listener kept its connection 30s after the last follower left", round)
		}
		// The server ends the closed connection's backend on its own
		// time; on a busy machine it is still listed for a while. It must
		// go, so that the database could scale to zero, and before the next
		// round counts.
		for deadline := time.Now().Add(30 * time.Second); listening() != 0; {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the server still lists the listening connection 30s after the listener closed it", round)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
