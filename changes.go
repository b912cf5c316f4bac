package todoapi

import (
	"context"
	"time"
)

// ChangeOp says what happened to a task in the change feed.
type ChangeOp string

const (
	// ChangeUpsert means the task was created or changed; the entry
	// carries its latest state.
	ChangeUpsert ChangeOp = "upsert"
	// ChangeDelete means the task was deleted; the entry is a tombstone.
	ChangeDelete ChangeOp = "delete"
)

// Change is one entry of a user's change feed: the latest state of one
// task within the range read, so that a client applying the entries in
// order ends up with what the server holds.
type Change struct {
	Op ChangeOp
	// Task is the task's state after the change, for upserts.
	Task *Task
	// ID names the task, for both kinds.
	ID int64
	// Created reports that the task was created within the range read, so
	// that a live stream can announce it as new rather than changed.
	Created bool
	// Reminder reports that the task's reminder was sent within the range
	// read (after a position; never in an initial sync): the client should
	// show it (a live stream sends it as its own event). The entry still
	// carries the task's latest state.
	Reminder bool
	// DeletedAt is when the task was deleted, for tombstones.
	DeletedAt *time.Time
	// Token is the position just after this entry: reading the feed from
	// it continues with the next entry. A live stream gives it as the
	// event's id.
	Token string
}

// ChangePage is one read of a user's change feed.
type ChangePage struct {
	Changes []Change
	// Next is the opaque token to continue from: the position after the
	// last entry of Changes, or the position read from when Changes is
	// empty.
	Next string
	// HasMore reports that more entries follow Next right now.
	HasMore bool
}

// ChangeFeed is how clients that were away, or that keep a live stream
// open, learn what changed. since is a token from an earlier ChangePage,
// or empty for an initial sync of every live task.
type ChangeFeed interface {
	Changes(ctx context.Context, user User, since string, limit int) (ChangePage, error)
}

// ChangeHub tells the parts of this process that follow a user's changes
// (live event streams, for one) that the user's change feed has moved. A
// notification carries no data: the follower reads the feed, which also
// covers anything it missed, so a lost or duplicated notification costs a
// read, never a change.
type ChangeHub interface {
	// Publish wakes the followers of userID. It never blocks.
	Publish(userID string)
	// Subscribe returns a channel that receives a value after each
	// Publish for userID (several publishes may merge into one value),
	// and a function that ends the subscription.
	Subscribe(userID string) (wake <-chan struct{}, cancel func())
}
