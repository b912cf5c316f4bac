package todoapi

import (
	"context"
	"fmt"
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
	}
}

// now returns the current time as stores keep it: UTC, microsecond precision.
func (s *Service) now() time.Time {
	return s.Now().UTC().Truncate(time.Microsecond)
}

// touch records user in the users table unless this process did so recently
// with the same email and name, so that most requests cost no write.
func (s *Service) touch(ctx context.Context, user User) error {
	now := s.now()
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
	change, err := p.validate(true)
	if err != nil {
		return Task{}, err
	}
	if err := s.touch(ctx, user); err != nil {
		return Task{}, err
	}
	now := s.now()
	t := Task{
		UserID:    user.ID,
		Priority:  PriorityMedium,
		Tags:      []string{},
		CreatedAt: now,
	}
	change.apply(&t, now)
	return s.store.CreateTask(ctx, t, s.TaskQuota)
}

func (s *Service) Task(ctx context.Context, user User, id int64) (Task, error) {
	if err := s.touch(ctx, user); err != nil {
		return Task{}, err
	}
	return s.store.Task(ctx, user.ID, id)
}

func (s *Service) ListTasks(ctx context.Context, user User, q ListQuery) (TaskPage, error) {
	f, err := ParseListQuery(q)
	if err != nil {
		return TaskPage{}, err
	}
	if err := s.touch(ctx, user); err != nil {
		return TaskPage{}, err
	}
	return s.store.ListTasks(ctx, user.ID, f)
}

func (s *Service) UpdateTask(ctx context.Context, user User, id int64, p TaskPatch) (Task, error) {
	change, err := p.validate(false)
	if err != nil {
		return Task{}, err
	}
	return s.update(ctx, user, id, func(*Task) taskChange { return change })
}

func (s *Service) CompleteTask(ctx context.Context, user User, id int64, completed Field[bool]) (Task, error) {
	if completed.Set {
		change, err := TaskPatch{Completed: completed}.validate(false)
		if err != nil {
			return Task{}, err
		}
		return s.update(ctx, user, id, func(*Task) taskChange { return change })
	}
	return s.update(ctx, user, id, func(t *Task) taskChange {
		return taskChange{completed: Value(!t.Completed)}
	})
}

// update applies the change that changeFor derives from the stored task.
// The clock is read inside the store's lock, so that updated_at and
// completed_at follow the order in which changes were saved.
func (s *Service) update(ctx context.Context, user User, id int64, changeFor func(*Task) taskChange) (Task, error) {
	if err := s.touch(ctx, user); err != nil {
		return Task{}, err
	}
	return s.store.UpdateTask(ctx, user.ID, id, func(t *Task) bool {
		return changeFor(t).apply(t, s.now())
	})
}

func (s *Service) DeleteTask(ctx context.Context, user User, id int64) error {
	if err := s.touch(ctx, user); err != nil {
		return err
	}
	return s.store.DeleteTask(ctx, user.ID, id)
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
