package todoapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Multi-device sync: versions, conditional writes and the change feed.
//
// Every change to a user's tasks takes the next number of the user's
// sequence (kept on the user's row, under the row's lock, so that a user's
// writes commit in sequence order) and stores it with the task it changed,
// or in a tombstone for a deletion. The change feed is then the user's
// tasks and tombstones whose number is above the reader's position, in
// sequence order: one entry per task, its latest state, and a change that
// commits after a reader got its position has a higher number than that
// position, so it is never missed.

// DefaultTombstoneRetention is Service.TombstoneRetention unless configured
// otherwise.
const DefaultTombstoneRetention = 30 * 24 * time.Hour

// DefaultChangesLimit and MaxChangesLimit bound one read of the change feed.
const (
	DefaultChangesLimit = 1000
	MaxChangesLimit     = 1000
)

// Precondition makes a write conditional on the task's version, as an
// If-Match header does. The zero value is no condition.
type Precondition struct {
	// Set means a condition was given; with no version and not Any it
	// matches nothing (an If-Match naming only tags this service never
	// issues).
	Set bool
	// Any only requires the task to exist (If-Match: *).
	Any bool
	// Versions are the versions the client accepts.
	Versions []int64
}

// IfVersion is the Precondition that the task's version is v.
func IfVersion(v int64) Precondition {
	return Precondition{Set: true, Versions: []int64{v}}
}

func (p Precondition) holds(version int64) bool {
	if !p.Set || p.Any {
		return true
	}
	for _, v := range p.Versions {
		if v == version {
			return true
		}
	}
	return false
}

// oneCondition is the optional condition of a write method.
func oneCondition(cond []Precondition) Precondition {
	if len(cond) == 0 {
		return Precondition{}
	}
	return cond[0]
}

// listETag names the content of a list page: the user's collection version
// and the canonical filter, hashed, so that equal queries spelled
// differently share a tag and a different query never does.
func listETag(version int64, f TaskFilter) string {
	key, err := json.Marshal(f)
	if err != nil { // a TaskFilter always encodes; fall back to no sharing
		key = fmt.Appendf(nil, "%p", &f)
	}
	sum := sha256.Sum256(key)
	return strconv.FormatInt(version, 10) + "-" + base64.RawURLEncoding.EncodeToString(sum[:12])
}

// syncState is the Service's change-feed machinery: the token key, loaded
// once from the store, and when tombstones were last purged.
type syncState struct {
	mu        sync.Mutex
	key       []byte
	lastPurge time.Time
	purging   bool
}

// tokenKey returns the key that signs feed tokens, loading it from the
// store (which keeps one per database, so that every replica accepts every
// other's tokens) on first use.
func (s *Service) tokenKey(ctx context.Context) ([]byte, error) {
	s.sync.mu.Lock()
	key := s.sync.key
	s.sync.mu.Unlock()
	if key != nil {
		return key, nil
	}
	candidate := make([]byte, 32)
	rand.Read(candidate)
	key, err := s.store.SyncKey(ctx, candidate)
	if err != nil {
		return nil, fmt.Errorf("load change-feed key: %w", err)
	}
	s.sync.mu.Lock()
	s.sync.key = key
	s.sync.mu.Unlock()
	return key, nil
}

// Feed tokens: a format byte, the sequence position, the time the token was
// issued (Unix seconds) and a MAC binding the three to the user. The MAC
// makes tokens opaque in effect: a client can neither move one nor use
// another user's.
const (
	tokenFormat  = 1
	tokenPayload = 1 + 8 + 8
	tokenMACLen  = 16
	tokenLen     = tokenPayload + tokenMACLen
)

func tokenMAC(key []byte, userID string, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("todoapi change feed\x00"))
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:tokenMACLen]
}

func encodeToken(key []byte, userID string, seq int64, issued time.Time) string {
	b := make([]byte, tokenPayload, tokenLen)
	b[0] = tokenFormat
	binary.BigEndian.PutUint64(b[1:], uint64(seq))
	binary.BigEndian.PutUint64(b[9:], uint64(issued.Unix()))
	b = append(b, tokenMAC(key, userID, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// errBadToken is the message of a since that this feed did not issue to
// this user.
const errBadToken = "is not a change-feed token issued for this user; omit since to sync from scratch"

func decodeToken(key []byte, userID, token string) (seq int64, issued time.Time, ok bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return 0, time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != tokenLen || b[0] != tokenFormat {
		return 0, time.Time{}, false
	}
	if !hmac.Equal(b[tokenPayload:], tokenMAC(key, userID, b[:tokenPayload])) {
		return 0, time.Time{}, false
	}
	seq = int64(binary.BigEndian.Uint64(b[1:]))
	issued = time.Unix(int64(binary.BigEndian.Uint64(b[9:])), 0)
	if seq < 0 {
		return 0, time.Time{}, false
	}
	return seq, issued, true
}

var _ ChangeFeed = (*Service)(nil)

// Changes reads the user's change feed after since (a token of an earlier
// page, or empty for an initial sync: every live task, then a token to
// continue from). A since that is malformed, tampered with or another
// user's is a *ValidationError on "since"; one older than the tombstones
// kept is ErrChangesExpired.
func (s *Service) Changes(ctx context.Context, user User, since string, limit int) (ChangePage, error) {
	if limit == 0 {
		limit = DefaultChangesLimit
	}
	bad := problems{}
	if limit < 1 || limit > MaxChangesLimit {
		bad.add("limit", "must be an integer between 1 and "+strconv.Itoa(MaxChangesLimit))
	}
	key, err := s.tokenKey(ctx)
	if err != nil {
		return ChangePage{}, err
	}
	now := s.Now()
	var after int64
	if since != "" {
		var issued time.Time
		var ok bool
		after, issued, ok = decodeToken(key, user.ID, since)
		switch {
		case !ok:
			bad.add("since", errBadToken)
		case now.Sub(issued) > s.TombstoneRetention:
			if len(bad) == 0 {
				return ChangePage{}, fmt.Errorf("read changes: %w", ErrChangesExpired)
			}
		}
	}
	if err := bad.err(); err != nil {
		return ChangePage{}, err
	}
	if err := s.touch(ctx, user); err != nil {
		return ChangePage{}, err
	}
	log, err := s.store.ChangesSince(ctx, user.ID, after, since == "", limit)
	if err != nil {
		return ChangePage{}, err
	}
	if since != "" && after < log.Purged {
		return ChangePage{}, fmt.Errorf("read changes: %w", ErrChangesExpired)
	}
	page := ChangePage{Changes: make([]Change, 0, len(log.Entries)), HasMore: log.HasMore}
	next := after
	for _, e := range log.Entries {
		c := Change{ID: e.ID, Token: encodeToken(key, user.ID, e.Seq, now)}
		if e.Task != nil {
			c.Op, c.Task, c.ID = ChangeUpsert, e.Task, e.Task.ID
			c.Created = e.CreatedSeq > after
			// An initial sync reports no reminder: it would show every
			// reminder ever sent.
			c.Reminder = since != "" && e.RemindedSeq > after
		} else {
			c.Op, c.DeletedAt = ChangeDelete, &e.DeletedAt
		}
		page.Changes = append(page.Changes, c)
		next = e.Seq
	}
	if !log.HasMore {
		// The whole feed up to Last was read: continue after it, past any
		// number that no entry holds any more.
		next = max(next, log.Last)
	}
	page.Next = encodeToken(key, user.ID, next, now)
	return page, nil
}

// purgeEvery is how often a process purges expired tombstones, at most;
// purgeBatch bounds the rows one purge removes, so that no single write
// pays for a long backlog.
const (
	purgeEvery = time.Hour
	purgeBatch = 1000
	// purgeRetry is how soon a failed purge is tried again: not at every
	// write, which would add a failing statement to each while the
	// database is in trouble.
	purgeRetry = time.Minute
)

// purgeNowAndThen purges expired tombstones when this process has not done
// so for purgeEvery, after a write, so that a running service keeps its
// feed within the retention with no scheduler of its own. Its failure does
// not fail the write that triggered it: a write purgeRetry later retries.
func (s *Service) purgeNowAndThen(ctx context.Context) {
	now := s.Now()
	s.sync.mu.Lock()
	due := !s.sync.purging && now.Sub(s.sync.lastPurge) >= purgeEvery
	if due {
		s.sync.purging = true
	}
	s.sync.mu.Unlock()
	if !due {
		return
	}
	_, err := s.PurgeTombstones(context.WithoutCancel(ctx))
	s.sync.mu.Lock()
	s.sync.purging = false
	s.sync.lastPurge = now
	if err != nil {
		s.sync.lastPurge = now.Add(purgeRetry - purgeEvery)
	}
	s.sync.mu.Unlock()
}

// PurgeTombstones removes the tombstones older than TombstoneRetention (up
// to one batch) and returns how many it removed. Readers positioned before
// a removed tombstone are then told to sync from scratch.
func (s *Service) PurgeTombstones(ctx context.Context) (int, error) {
	n, err := s.store.PurgeTombstones(ctx, s.now().Add(-s.TombstoneRetention), purgeBatch)
	if err != nil {
		return n, fmt.Errorf("purge tombstones: %w", err)
	}
	return n, nil
}

// MergeChanges merges a store's live-task and tombstone entries, each in
// sequence order and each read with limit+1 rows, into the first limit
// entries in sequence order, and reports whether more follow.
func MergeChanges(tasks, tombs []ChangeEntry, limit int) ([]ChangeEntry, bool) {
	out := make([]ChangeEntry, 0, min(limit, len(tasks)+len(tombs)))
	i, j := 0, 0
	for len(out) < limit && (i < len(tasks) || j < len(tombs)) {
		if j == len(tombs) || (i < len(tasks) && tasks[i].Seq < tombs[j].Seq) {
			out = append(out, tasks[i])
			i++
		} else {
			out = append(out, tombs[j])
			j++
		}
	}
	return out, i < len(tasks) || j < len(tombs)
}
