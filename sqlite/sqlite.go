// Package sqlite stores tasks in an SQLite file, so that the service runs
// with no database server. It uses a pure Go driver: the binary builds with
// CGO_ENABLED=0.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/todoapi/todoapi"
)

// Store is a todoapi.Store backed by one SQLite file.
//
// SQLite allows one writer at a time. Writes go through a pool of exactly one
// connection, so they queue in Go instead of contending for SQLite's lock and
// failing with SQLITE_BUSY, and the writes of users and tasks are committed
// in groups, one fsync for all the writes waiting at a moment (group.go); in
// WAL mode reads run in parallel on their own pool and never wait for the
// writer.
type Store struct {
	writer *sql.DB
	reader *sql.DB
	closed atomic.Bool
	// Prepared statements of each pool (stmts.go).
	writes, reads *stmtCache
	// group commits the writes (group.go).
	group *committer
	// searchIndex is how searches choose the trigram index; tests force
	// each way.
	searchIndex searchIndexMode
	// readers bounds each user's share of the read pool (readers.go).
	readers *readerGate
	// afterListQuery, when set (by tests), runs while a list holds its
	// reader connection.
	afterListQuery func(userID string)
}

type searchIndexMode uint8

const (
	searchIndexAuto searchIndexMode = iota
	searchIndexAlways
	searchIndexNever
)

var _ todoapi.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating the file if needed. It
// does not migrate; call Migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// Two pools on an in-memory database would be two databases. A file:
		// URI is refused rather than guessed at: callers strip the scheme of
		// DATABASE_URL and pass the path.
		return nil, fmt.Errorf("open SQLite database: need a file path, got %q", path)
	}
	writer, err := openPool(ctx, path, true)
	if err != nil {
		return nil, err
	}
	// The writer connects first: it switches a new file to WAL, which the
	// readers then find already set.
	reader, err := openPool(ctx, path, false)
	if err != nil {
		writer.Close()
		return nil, err
	}
	s := &Store{writer: writer, reader: reader, writes: newStmtCache(writer), reads: newStmtCache(reader),
		readers: newReaderGate(readersPerUser(reader.Stats().MaxOpenConnections))}
	s.group = newCommitter(s)
	return s, nil
}

func openPool(ctx context.Context, path string, write bool) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, write))
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	if write {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
	} else {
		n := max(4, runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	}
	// Connections are cheap to keep and their pragmas are per connection;
	// recycling them would only redo that work.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, classify(err))
	}
	return db, nil
}

// dsn builds the driver's connection string. The pragmas run on every new
// connection: foreign keys and the busy timeout are per connection in SQLite,
// and synchronous=FULL makes each commit durable before the caller answers
// 201. The writer begins transactions IMMEDIATE so a read-then-write
// transaction holds the write lock from its first statement and cannot fail
// halfway when it upgrades. Readers are query_only as a guard against a write
// slipping onto the wrong pool.
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "synchronous(FULL)")
	if write {
		q.Set("_txlock", "immediate")
		// A statement inside a batch of writes (group.go) keeps a journal
		// of its own, so that a failing one is undone alone. SQLite writes
		// it to a temporary file once it passes 64 KiB, a creation and
		// writes per statement on the single writer's path; in memory it
		// costs a statement's pages at most.
		q.Add("_pragma", "temp_store(MEMORY)")
	} else {
		q.Add("_pragma", "query_only(ON)")
	}
	// A file: URI with an escaped path keeps characters such as '?' or '#'
	// in the file name from being read as URI syntax.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes both pools. In-flight calls should have finished.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.group.close()
	s.reads.close()
	s.writes.close()
	return errors.Join(s.reader.Close(), s.writer.Close())
}

func (s *Store) Ping(ctx context.Context) error {
	if err := s.reader.PingContext(ctx); err != nil {
		return s.fail("ping", err)
	}
	return nil
}

func (s *Store) UpsertUser(ctx context.Context, u todoapi.User, seen time.Time) error {
	// Empty email or name means the token did not carry one, which must not
	// erase a value learned from an earlier token.
	// It commits with the other writes of its batch (group.go).
	if s.closed.Load() {
		return s.fail("upsert user", errStoreClosed)
	}
	return s.group.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO users (id, email, name, first_seen_at, last_seen_at)
			VALUES (?, NULLIF(?, ''), NULLIF(?, ''), ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				email = COALESCE(excluded.email, users.email),
				name = COALESCE(excluded.name, users.name),
				last_seen_at = excluded.last_seen_at`,
			u.ID, u.Email, u.Name, seen.UnixMicro(), seen.UnixMicro())
		if err != nil {
			return s.fail("upsert user", err)
		}
		return nil
	})
}

// ServiceKey returns the key stored under name, storing candidate there
// first when there is none: INSERT OR IGNORE on the single writer
// connection, then a read, so concurrent callers all get the first one
// stored.
func (s *Store) ServiceKey(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	if _, err := s.writer.ExecContext(ctx,
		`INSERT OR IGNORE INTO service_keys (name, key, created_at) VALUES (?, ?, ?)`,
		name, candidate, time.Now().UnixMicro()); err != nil {
		return nil, s.fail("store service key", err)
	}
	var key []byte
	if err := s.writer.QueryRowContext(ctx, `SELECT key FROM service_keys WHERE name = ?`, name).Scan(&key); err != nil {
		return nil, s.fail("read service key", err)
	}
	return key, nil
}

const taskColumns = `id, user_id, title, description, completed, completed_at, priority, tags, due_date, created_at, updated_at, version, ` +
	`recurrence, timezone, remind_at, next_occurrence_id, series_start, reminder_pending`

func (s *Store) Task(ctx context.Context, userID string, id int64) (todoapi.Task, error) {
	release, err := s.readers.enter(ctx, userID)
	if err != nil {
		return todoapi.Task{}, s.fail("get task", err)
	}
	defer release()
	t, err := scanTask(s.reads.queryRow(ctx,
		`SELECT `+taskColumns+` FROM tasks WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return todoapi.Task{}, s.fail("get task", err)
	}
	return t, nil
}

// values holds a task's columns in their stored form, including the folded
// copies that listing filters and sorts by.
type values struct {
	title          string
	description    *string
	completed      bool
	completedAt    *int64
	priority       int
	tags           string
	dueDate        *int64
	createdAt      int64
	updatedAt      int64
	titleKey       string
	descriptionKey *string
	tagKeys        string

	recurrence       *string
	timezone         string
	remindAt         *int64
	nextOccurrenceID *int64
	seriesStart      *int64
	reminderPending  bool
}

func columnValues(t todoapi.Task) (values, error) {
	tags, err := jsonList(t.Tags)
	if err != nil {
		return values{}, err
	}
	keys := t.FoldedText()
	tagKeys, err := jsonList(keys.Tags)
	if err != nil {
		return values{}, err
	}
	return values{
		title:          t.Title,
		description:    t.Description,
		completed:      t.Completed,
		completedAt:    micros(t.CompletedAt),
		priority:       t.Priority.Rank(),
		tags:           tags,
		dueDate:        micros(t.DueDate),
		createdAt:      t.CreatedAt.UnixMicro(),
		updatedAt:      t.UpdatedAt.UnixMicro(),
		titleKey:       keys.Title,
		descriptionKey: keys.Description,
		tagKeys:        tagKeys,

		recurrence:       t.Recurrence,
		timezone:         cmp.Or(t.Timezone, todoapi.DefaultTimezone),
		remindAt:         micros(t.RemindAt),
		nextOccurrenceID: t.NextOccurrenceID,
		seriesStart:      micros(t.SeriesStart),
		reminderPending:  t.ReminderPending,
	}, nil
}

// jsonList encodes a string list as a JSON array, never null.
func jsonList(list []string) (string, error) {
	if list == nil {
		list = []string{}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("encode tags: %w", err)
	}
	return string(b), nil
}

func micros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	us := t.UnixMicro()
	return &us
}

func fromMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := time.UnixMicro(us.Int64).UTC()
	return &t
}

// scanTask reads the taskColumns of row, then any extra columns into extra.
func scanTask(row interface{ Scan(...any) error }, extra ...any) (todoapi.Task, error) {
	var (
		t                             todoapi.Task
		description                   sql.NullString
		completedAt, dueDate          sql.NullInt64
		rank                          int
		tags                          string
		createdAt, updatedAt          int64
		recurrence                    sql.NullString
		remindAt, seriesStart, nextID sql.NullInt64
	)
	err := row.Scan(append([]any{&t.ID, &t.UserID, &t.Title, &description, &t.Completed, &completedAt,
		&rank, &tags, &dueDate, &createdAt, &updatedAt, &t.Version,
		&recurrence, &t.Timezone, &remindAt, &nextID, &seriesStart, &t.ReminderPending}, extra...)...)
	if err != nil {
		return todoapi.Task{}, err
	}
	if description.Valid {
		t.Description = &description.String
	}
	t.CompletedAt = fromMicros(completedAt)
	t.DueDate = fromMicros(dueDate)
	if recurrence.Valid {
		t.Recurrence = &recurrence.String
	}
	t.RemindAt = fromMicros(remindAt)
	t.SeriesStart = fromMicros(seriesStart)
	if nextID.Valid {
		t.NextOccurrenceID = &nextID.Int64
	}
	t.CreatedAt = time.UnixMicro(createdAt).UTC()
	t.UpdatedAt = time.UnixMicro(updatedAt).UTC()
	var ok bool
	if t.Priority, ok = todoapi.PriorityFromRank(rank); !ok {
		return todoapi.Task{}, fmt.Errorf("task %d has invalid priority rank %d", t.ID, rank)
	}
	// The column's CHECK guarantees an array, which decodes to a non-nil
	// slice even when empty.
	if t.Tags, err = decodeTags(tags); err != nil {
		return todoapi.Task{}, fmt.Errorf("task %d has invalid tags: %w", t.ID, err)
	}
	return t, nil
}

// fail wraps err with what was being done, mapping a missing row to
// ErrNotFound and a database that cannot be used right now to ErrDatabaseUnavailable.
func (s *Store) fail(op string, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, todoapi.ErrNotFound)
	case s.closed.Load() && !isContext(err):
		return fmt.Errorf("%s: %w: store is closed", op, todoapi.ErrDatabaseUnavailable)
	}
	return fmt.Errorf("%s: %w", op, classify(err))
}

// classify marks errors that say the database file cannot be used at the
// moment (locked for too long, I/O failure, disk full, cannot be opened) as
// ErrDatabaseUnavailable, keeping err in the chain.
func classify(err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w: %w", todoapi.ErrDatabaseUnavailable, err)
		}
	}
	if errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%w: %w", todoapi.ErrDatabaseUnavailable, err)
	}
	return err
}

func isContext(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// PoolStats reports the writer's and the readers' connection pools, for
// the metrics endpoint.
func (s *Store) PoolStats() []todoapi.PoolStats {
	return []todoapi.PoolStats{sqlPool("writer", s.writer.Stats()), sqlPool("reader", s.reader.Stats())}
}

func sqlPool(name string, s sql.DBStats) todoapi.PoolStats {
	return todoapi.PoolStats{
		Pool: name, MaxOpen: s.MaxOpenConnections, Open: s.OpenConnections,
		InUse: s.InUse, Idle: s.Idle, WaitCount: s.WaitCount, WaitDuration: s.WaitDuration,
	}
}

// decodeTags reads a tags column, a JSON array of strings as jsonList
// writes it. Most arrays have no escape in them (json.Marshal escapes
// quotes, backslashes, control characters, <, > and &, and nothing else),
// and then the strings lie between `","` separators as they are; that
// common case is split by hand, a tenth of encoding/json's cost, and
// anything else goes to encoding/json.
func decodeTags(s string) ([]string, error) {
	if s == "[]" {
		return []string{}, nil
	}
	if len(s) >= 4 && s[:2] == `["` && s[len(s)-2:] == `"]` && !strings.ContainsRune(s, '\\') {
		tags := strings.Split(s[2:len(s)-2], `","`)
		if !slices.ContainsFunc(tags, func(tag string) bool { return strings.Contains(tag, `"`) }) {
			return tags, nil
		}
		// Not as jsonList writes it (white space between elements, say).
	}
	var tags []string
	if err := json.Unmarshal([]byte(s), &tags); err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []string{}
	}
	return tags, nil
}
