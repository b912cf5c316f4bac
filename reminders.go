package todoapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Reminders.
//
// A reminder falls due when its task's remind_at passes while the task is
// open. Sending it is a write like any other: it takes the user's next
// change number, so the reminder reaches the change feed and, through it,
// every live event stream on every replica. Every process runs
// RunReminders; they share the work through the database:
//
//   - A process claims due reminders in batches (Store.ClaimReminders) for
//     a short lease, so that replicas work on different reminders, and a
//     reminder claimed by a process that dies is claimed again once the
//     lease lapses.
//   - It sends the claimed reminders of each user in one write that reads
//     each task again and marks its reminder sent only if it is still
//     pending, at the version read (StoreTx.Remind). Of any number of attempts, in
//     any number of processes, one succeeds: a reminder goes out exactly
//     once, and not at all for a task completed, deleted or moved to a
//     later time before it fell due.
//   - Between rounds it sleeps until the next reminder it knows of
//     (Store.NextReminder, which sees every replica's), and wakes early
//     when a write in this process sets an earlier one. A reminder set
//     through another replica after this one last asked is that replica's
//     to send; in case it died, this one asks again on its first request
//     once Reminders.Poll has passed since it last asked. An idle process
//     asks nothing, so that a database that scales to zero can. A process
//     that was down when reminders fell due sends them when it starts.

// DefaultReminderPoll is Reminders.Poll unless configured otherwise.
const DefaultReminderPoll = time.Minute

const (
	// reminderBatch bounds the reminders one claim takes.
	reminderBatch = 100
	// reminderLease is how long a claim keeps other processes off a
	// reminder: ample for sending one batch, and the delay a reminder
	// suffers when the process that claimed it dies.
	reminderLease = 3 * time.Second
	// reminderSenders is how many users' reminders a process sends at
	// once, so that a thousand falling due together are written in
	// parallel (and, on SQLite, committed in few batches).
	reminderSenders = 16
	// reminderBackoffMax bounds the wait after failed rounds (the database
	// is down): rounds are retried at 1 s, 2 s, 4 s, … up to this.
	reminderBackoffMax = 30 * time.Second
	// reminderSpin is the least wait before a round when the last one sent
	// nothing although a reminder was due (held by a write in progress).
	reminderSpin = 100 * time.Millisecond
)

// Reminders configures RunReminders.
type Reminders struct {
	// Poll is how long after asking the database for the next reminder
	// the scheduler asks again, on the process's next request (see
	// Service.touch), however far away the next one it knows of.
	Poll time.Duration
	// Sent, when set, is called for each reminder this process sends,
	// with how long after its time it went out.
	Sent func(late time.Duration)
	// Failed, when set, is called when a round fails (the database is
	// unreachable, say); the scheduler retries with a growing wait.
	Failed func(err error)
}

// reminderState lets writes wake the scheduler of their process.
type reminderState struct {
	mu sync.Mutex
	// wake holds a value when the scheduler should look again at once.
	wake chan struct{}
	// waiting reports that the scheduler sleeps until planned; a write
	// that sets a reminder before then wakes it.
	waiting bool
	planned time.Time
	// askAgain is when, in Unix nanoseconds, a request should wake the
	// scheduler to ask the database again; 0 while it is awake. Every
	// request reads it, so it is an atomic, not under mu.
	askAgain atomic.Int64
}

func (r *reminderState) wakeChan() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.wake == nil {
		r.wake = make(chan struct{}, 1)
	}
	return r.wake
}

// sleepUntil records that the scheduler waits until at (zero: until
// woken).
func (r *reminderState) sleepUntil(at time.Time) {
	r.mu.Lock()
	r.waiting, r.planned = true, at
	r.mu.Unlock()
}

func (r *reminderState) awake() {
	r.mu.Lock()
	r.waiting = false
	r.mu.Unlock()
}

// reminderSet wakes this process's scheduler when t, just written, has a
// pending reminder earlier than the scheduler means to look again. While a
// round runs it always does: that round may have read the next reminder
// before t's was stored.
func (s *Service) reminderSet(t Task) {
	if !t.ReminderPending || t.RemindAt == nil || t.Completed {
		return
	}
	r := &s.reminders
	r.mu.Lock()
	poke := r.wake != nil && (!r.waiting || r.planned.IsZero() || t.RemindAt.Before(r.planned))
	wake := r.wake
	r.mu.Unlock()
	if poke {
		nudge(wake)
	}
}

// nudge wakes the scheduler without blocking: a wake-up already pending
// covers this one.
func nudge(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// remindersActive is called on every request: once Reminders.Poll has
// passed since the scheduler last asked the database, the first request
// wakes it to ask again. It costs one atomic read per request.
func (s *Service) remindersActive(now time.Time) {
	r := &s.reminders
	at := r.askAgain.Load()
	if at == 0 || now.UnixNano() < at || !r.askAgain.CompareAndSwap(at, 0) {
		return
	}
	// wake was made before askAgain was first set (RunReminders), and
	// the atomic orders the two.
	nudge(r.wake)
}

// RunReminders sends reminders as they fall due, until ctx is done.
func (s *Service) RunReminders(ctx context.Context, opt Reminders) {
	if opt.Poll <= 0 {
		opt.Poll = DefaultReminderPoll
	}
	wake := s.reminders.wakeChan()
	failures := 0
	for {
		_, next, err := s.sendDueReminders(ctx, opt.Sent)
		if ctx.Err() != nil {
			return
		}
		now := s.Now()
		var timer <-chan time.Time // none: sleep until woken
		var stop func() bool
		var at time.Time // when to look again; zero: only when woken
		switch {
		case err != nil:
			failures++
			if opt.Failed != nil {
				opt.Failed(err)
			}
			at = now.Add(min(reminderBackoffMax, time.Second<<min(failures-1, 5)))
		case !next.IsZero():
			failures = 0
			at = next
			if !next.After(now) {
				// Something due could not be claimed (a write held its
				// row): look again soon, not in a tight loop.
				at = now.Add(reminderSpin)
			}
		default:
			failures = 0 // nothing pending anywhere
		}
		if !at.IsZero() {
			t := time.NewTimer(max(at.Sub(now), 0))
			timer, stop = t.C, t.Stop
		}
		s.reminders.sleepUntil(at)
		s.reminders.askAgain.Store(now.Add(opt.Poll).UnixNano())
		select {
		case <-ctx.Done():
		case <-timer:
		case <-wake:
		}
		if stop != nil {
			stop()
		}
		s.reminders.askAgain.Store(0)
		s.reminders.awake()
		if ctx.Err() != nil {
			return
		}
	}
}

// SendDueReminders sends the reminders due now that it can claim, and
// returns how many it sent.
func (s *Service) SendDueReminders(ctx context.Context) (int, error) {
	sent, _, err := s.sendDueReminders(ctx, nil)
	return sent, err
}

// sendDueReminders claims and sends due reminders, a batch at a time,
// while the store reports one due, and returns how many it sent and when
// the next one could be claimed (zero when none is pending). Asking first
// keeps an idle round to one query.
func (s *Service) sendDueReminders(ctx context.Context, report func(late time.Duration)) (int, time.Time, error) {
	total := 0
	for {
		now := s.now()
		next, ok, err := s.store.NextReminder(ctx, now)
		if err != nil {
			return total, time.Time{}, fmt.Errorf("find the next reminder: %w", err)
		}
		if !ok {
			return total, time.Time{}, nil
		}
		if next.After(now) {
			return total, next, nil
		}
		claims, err := s.store.ClaimReminders(ctx, now, now.Add(reminderLease), reminderBatch)
		if err != nil {
			return total, time.Time{}, fmt.Errorf("claim reminders: %w", err)
		}
		n, err := s.sendReminders(ctx, claims, report)
		total += n
		if err != nil {
			return total, time.Time{}, err
		}
		if len(claims) == 0 {
			// Due, but held by a write in progress: the caller waits a
			// little before it asks again.
			return total, next, nil
		}
	}
}

// sendReminders sends claims: each user's in one write (one commit for
// all of a user's reminders due together), reminderSenders users at a
// time. It returns how many went out and the first error.
func (s *Service) sendReminders(ctx context.Context, claims []ReminderClaim, report func(late time.Duration)) (int, error) {
	var users []string
	byUser := map[string][]int64{}
	for _, c := range claims {
		if byUser[c.UserID] == nil {
			users = append(users, c.UserID)
		}
		byUser[c.UserID] = append(byUser[c.UserID], c.TaskID)
	}
	var (
		mu       sync.Mutex
		sent     int
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan string)
	for range min(reminderSenders, len(users)) {
		wg.Go(func() {
			for user := range work {
				lates, err := s.sendUserReminders(ctx, user, byUser[user])
				mu.Lock()
				sent += len(lates)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				if report != nil {
					for _, late := range lates {
						report(late)
					}
				}
			}
		})
	}
	for _, user := range users {
		work <- user
	}
	close(work)
	wg.Wait()
	return sent, firstErr
}

// sendUserReminders sends those of the user's claimed reminders that are
// still due: their task exists, is open and has its reminder pending at or
// before now. It returns how late each one sent went out.
func (s *Service) sendUserReminders(ctx context.Context, userID string, ids []int64) ([]time.Duration, error) {
	var lates []time.Duration
	err := s.writeFor(ctx, userID, func(tx StoreTx) (bool, error) {
		lates = lates[:0]
		if len(ids) > 1 && !tx.MultiStep() {
			return false, ErrNeedsTransaction
		}
		now := s.now()
		for _, id := range ids {
			t, err := tx.Task(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since it was claimed
			}
			if err != nil {
				return false, err
			}
			if !t.reminderDue(now) {
				continue // completed, moved or sent since it was claimed
			}
			if err := tx.Remind(ctx, t.ID, t.Version); err != nil {
				return false, err
			}
			lates = append(lates, now.Sub(*t.RemindAt))
		}
		return len(lates) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("send reminders of user %q: %w", userID, err)
	}
	return lates, nil
}

// reminderDue reports whether t's reminder is to be sent at now.
func (t *Task) reminderDue(now time.Time) bool {
	return t.ReminderPending && !t.Completed && t.RemindAt != nil && !t.RemindAt.After(now)
}
