package todoapi

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Service implements TaskService on top of a Store. It owns the rules that
// must hold whichever database is used: validation, defaults, timestamps and
// the just-in-time users table.
type Service struct {
	store Store
	users *seenUsers
	// Now is the clock; tests replace it.
	Now func() time.Time
	// TaskQuota is the most tasks one user may hold.
	TaskQuota int
	// Hub, when set, hears of every committed write ("user U's feed
	// moved"), after the commit.
	Hub ChangeHub
	// TombstoneRetention is how long the change feed remembers deletions;
	// a client that was away longer must sync from scratch.
	TombstoneRetention time.Duration

	// Rules reads recurrence rules and finds their occurrences; without
	// it, tasks cannot recur.
	Rules RuleEngine

	sync syncState

	// reminders is the state of RunReminders.
	reminders reminderState

	// sealer seals and opens list cursors; read from the store on first
	// use (cursorSealer).
	sealerMu sync.Mutex
	sealer   *CursorSealer
}

// DefaultTaskQuota is Service.TaskQuota unless configured otherwise.
const DefaultTaskQuota = 10_000

var _ TaskService = (*Service)(nil)

// NewService returns a Service that keeps its data in store.
func NewService(store Store) *Service {
	return &Service{
		store:     store,
		users:     newSeenUsers(10_000, 10*time.Minute),
		Now:       time.Now,
		TaskQuota: DefaultTaskQuota,

		TombstoneRetention: DefaultTombstoneRetention,
	}
}

// now returns the current time as stores keep it: UTC, microsecond precision.
func (s *Service) now() time.Time {
	return s.Now().UTC().Truncate(time.Microsecond)
}

// touch records user in the users table unless this process did so recently
// with the same email and name, so that most requests cost no write. Every
// request of a user passes here first, which also makes it where a busy
// process tells its reminder scheduler that it is busy (remindersActive).
func (s *Service) touch(ctx context.Context, user User) error {
	now := s.now()
	s.remindersActive(now)
	if s.users.fresh(user, now) {
		return nil
	}
	if err := s.store.UpsertUser(ctx, user, now); err != nil {
		return fmt.Errorf("record user: %w", err)
	}
	s.users.remember(user, now)
	return nil
}

func (s *Service) CreateTask(ctx context.Context, user User, p TaskPatch) (Task, error) {
	change, err := p.validate(true, s.Rules)
	blank := Task{
		UserID:   user.ID,
		Priority: PriorityMedium,
		Tags:     []string{},
		Timezone: DefaultTimezone,
		Version:  1,
	}
	if err := joinProblems(err, change.check(&blank)); err != nil {
		return Task{}, err
	}
	var created Task
	err = s.write(ctx, user, func(tx StoreTx) (bool, error) {
		now := s.now()
		t := blank
		t.Tags = []string{}
		t.CreatedAt = now
		change.apply(&t, now)
		created, err = tx.Insert(ctx, t, s.TaskQuota)
		return err == nil, err
	})
	if err == nil {
		s.reminderSet(created)
	}
	return created, err
}

func (s *Service) Task(ctx context.Context, user User, id int64) (Task, error) {
	if err := s.touch(ctx, user); err != nil {
		return Task{}, err
	}
	return s.store.Task(ctx, user.ID, id)
}

// ListTasks opens the sealed cursor q carries, if any, and seals the next
// page's (TaskPage.NextCursor).
func (s *Service) ListTasks(ctx context.Context, user User, q ListQuery) (TaskPage, error) {
	f, sealer, err := s.parseQuery(ctx, q)
	if err != nil {
		return TaskPage{}, err
	}
	if err := s.touch(ctx, user); err != nil {
		return TaskPage{}, err
	}
	// The version is read before the list, never after: a change that
	// lands in between then makes the tag older than the page, which costs
	// the client one more full read, never a stale page under a new tag.
	version, err := s.store.CollectionVersion(ctx, user.ID)
	if err != nil {
		return TaskPage{}, err
	}
	page, err := s.store.ListTasks(ctx, user.ID, f)
	if err != nil {
		return TaskPage{}, err
	}
	page.ETag = listETag(version, f)
	if page.Next == nil {
		return page, nil
	}
	if sealer == nil {
		if sealer, err = s.cursorSealer(ctx); err != nil {
			return TaskPage{}, err
		}
	}
	page.NextCursor = sealer.Seal(page.Next)
	return page, nil
}

// parseQuery is ParseListQuery for the cursors this service hands out:
// sealed (CursorSealer). It also returns the sealer when it was needed.
func (s *Service) parseQuery(ctx context.Context, q ListQuery) (TaskFilter, *CursorSealer, error) {
	open := func(string) (*Cursor, error) { return nil, errBadCursor }
	var sealer *CursorSealer
	if q.Cursor != "" {
		var err error
		if sealer, err = s.cursorSealer(ctx); err != nil {
			return TaskFilter{}, nil, err
		}
		open = sealer.Open
	}
	f, err := parseListQuery(q, open)
	return f, sealer, err
}

// cursorSealer returns the sealer of the key every replica shares, reading
// (or, the first time anywhere, creating) it in the store once per process.
func (s *Service) cursorSealer(ctx context.Context) (*CursorSealer, error) {
	s.sealerMu.Lock()
	defer s.sealerMu.Unlock()
	if s.sealer != nil {
		return s.sealer, nil
	}
	key, err := s.store.ServiceKey(ctx, CursorKeyName, newCursorKey())
	if err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	sealer, err := NewCursorSealer(key)
	if err != nil {
		return nil, err
	}
	s.sealer = sealer
	return sealer, nil
}

// ListETag returns the entity tag ListTasks would give the page q selects,
// from one read of the user's collection version and without listing, so
// that a client polling an unchanged list costs one indexed read.
func (s *Service) ListETag(ctx context.Context, user User, q ListQuery) (string, error) {
	f, _, err := s.parseQuery(ctx, q)
	if err != nil {
		return "", err
	}
	if err := s.touch(ctx, user); err != nil {
		return "", err
	}
	version, err := s.store.CollectionVersion(ctx, user.ID)
	if err != nil {
		return "", err
	}
	return listETag(version, f), nil
}

func (s *Service) UpdateTask(ctx context.Context, user User, id int64, p TaskPatch, cond ...Precondition) (Task, error) {
	change, err := p.validate(false, s.Rules)
	if err != nil {
		return Task{}, err
	}
	t, _, err := s.update(ctx, user, id, oneCondition(cond), func(*Task) taskChange { return change })
	return t, err
}

func (s *Service) CompleteTask(ctx context.Context, user User, id int64, completed Field[bool], cond ...Precondition) (Completion, error) {
	changeFor := func(t *Task) taskChange { return taskChange{completed: Value(!t.Completed)} }
	if completed.Set {
		change, err := TaskPatch{Completed: completed}.validate(false, s.Rules)
		if err != nil {
			return Completion{}, err
		}
		changeFor = func(*Task) taskChange { return change }
	}
	t, next, err := s.update(ctx, user, id, oneCondition(cond), changeFor)
	if err != nil {
		return Completion{}, err
	}
	return Completion{Task: t, NextOccurrence: next}, nil
}

// update loads the task, checks cond against its version, applies the
// change that changeFor derives from it and saves it with the next
// version, all within one store write. The clock is read inside the write,
// so that updated_at and completed_at follow the order in which changes
// were saved. A change that changes nothing stores nothing and keeps the
// version.
//
// A change that completes a recurring task also creates the task's next
// occurrence, in the same write: every path that completes a task (PUT,
// PATCH, the completion toggle, the AI tools) comes through here, so the
// rule is kept once. The occurrence is returned too (nil when none was
// created).
func (s *Service) update(ctx context.Context, user User, id int64, cond Precondition, changeFor func(*Task) taskChange) (Task, *Task, error) {
	var result Task
	var occurrence *Task
	err := s.write(ctx, user, func(tx StoreTx) (bool, error) {
		occurrence = nil
		cur, err := tx.Task(ctx, id)
		if err != nil {
			return false, err
		}
		if !cond.holds(cur.Version) {
			return false, &PreconditionFailedError{Current: cur.Version}
		}
		next := cur
		next.Tags = slices.Clone(cur.Tags)
		change := changeFor(&next)
		if err := change.check(&next); err != nil {
			return false, err
		}
		now := s.now()
		if !change.apply(&next, now) {
			result = cur
			return false, nil
		}
		// The identity is the loaded one, whatever the change did.
		next.ID, next.UserID, next.CreatedAt = cur.ID, cur.UserID, cur.CreatedAt
		next.Version = cur.Version + 1
		if next.Completed && !cur.Completed {
			occ, err := s.nextOccurrence(&next, now)
			if err != nil {
				return false, err
			}
			if occ != nil {
				if !tx.MultiStep() {
					// Nothing is written yet: the store runs the write
					// again where its steps commit together.
					return false, ErrNeedsTransaction
				}
				created, err := tx.Insert(ctx, *occ, s.TaskQuota)
				if err != nil {
					return false, fmt.Errorf("create the next occurrence: %w", err)
				}
				next.NextOccurrenceID = &created.ID
				occurrence = &created
			}
		}
		result, err = tx.Save(ctx, next)
		return err == nil, err
	})
	if err != nil {
		return Task{}, nil, err
	}
	s.reminderSet(result)
	if occurrence != nil {
		s.reminderSet(*occurrence)
	}
	return result, occurrence, nil
}

func (s *Service) DeleteTask(ctx context.Context, user User, id int64, cond ...Precondition) error {
	c := oneCondition(cond)
	return s.write(ctx, user, func(tx StoreTx) (bool, error) {
		cur, err := tx.Task(ctx, id)
		if err != nil {
			return false, err
		}
		if !c.holds(cur.Version) {
			return false, &PreconditionFailedError{Current: cur.Version}
		}
		err = tx.Delete(ctx, id, cur.Version, s.now())
		return err == nil, err
	})
}

// write is the one path of every change to a user's tasks: it records the
// user, runs fn in one store write (which commits fn's steps together,
// each with its entry in the user's change feed) and, when fn reports that
// it stored something, tells the hub after the commit, so that a follower
// woken by it finds the change in the feed. fn may run more than once (see
// Store.Write).
func (s *Service) write(ctx context.Context, user User, fn func(tx StoreTx) (wrote bool, err error)) error {
	if err := s.touch(ctx, user); err != nil {
		return err
	}
	return s.writeFor(ctx, user.ID, fn)
}

// writeFor is write for a user already recorded, on behalf of the service
// itself (a reminder falling due) rather than of a request by the user.
func (s *Service) writeFor(ctx context.Context, userID string, fn func(tx StoreTx) (wrote bool, err error)) error {
	wrote := false
	err := s.store.Write(ctx, userID, func(tx StoreTx) error {
		var err error
		wrote, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	if wrote {
		if s.Hub != nil {
			s.Hub.Publish(userID)
		}
		s.purgeNowAndThen(ctx)
	}
	return nil
}

func (s *Service) ListTags(ctx context.Context, user User) ([]string, error) {
	if err := s.touch(ctx, user); err != nil {
		return nil, err
	}
	return s.store.ListTags(ctx, user.ID)
}

// seenUsers remembers which users this process has recorded lately. It is
// only a cache: losing it costs one upsert per user, never correctness.
type seenUsers struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	entries map[string]seenUser
}

type seenUser struct {
	email, name string
	at          time.Time
}

func newSeenUsers(max int, ttl time.Duration) *seenUsers {
	return &seenUsers{max: max, ttl: ttl, entries: make(map[string]seenUser)}
}

func (c *seenUsers) fresh(u User, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[u.ID]
	return ok && e.email == u.Email && e.name == u.Name && now.Sub(e.at) < c.ttl
}

func (c *seenUsers) remember(u User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Dropping everything is crude but bounded and rare: it costs one
		// upsert per active user.
		clear(c.entries)
	}
	c.entries[u.ID] = seenUser{email: u.Email, name: u.Name, at: now}
}
