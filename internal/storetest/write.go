package storetest

import (
	"context"
	"slices"

	"github.com/todoapi/todoapi"
)

// CreateTask, UpdateTask and DeleteTask are the simplest writes through a
// store's Write steps, as the service composes them, for tests and
// benchmarks of stores: CreateTask inserts t (Version 1) within quota;
// UpdateTask reads the task, lets change edit it and saves it with the next
// version when change reports a change; DeleteTask deletes the task at
// the version it reads.

func CreateTask(s todoapi.Store, ctx context.Context, t todoapi.Task, quota int) (todoapi.Task, error) {
	var created todoapi.Task
	err := s.Write(ctx, t.UserID, func(tx todoapi.StoreTx) error {
		t.Version = 1
		var err error
		created, err = tx.Insert(ctx, t, quota)
		return err
	})
	return created, err
}

func UpdateTask(s todoapi.Store, ctx context.Context, userID string, id int64, change func(*todoapi.Task) bool) (todoapi.Task, error) {
	var result todoapi.Task
	err := s.Write(ctx, userID, func(tx todoapi.StoreTx) error {
		cur, err := tx.Task(ctx, id)
		if err != nil {
			return err
		}
		next := cur
		next.Tags = slices.Clone(cur.Tags)
		if !change(&next) {
			result = cur
			return nil
		}
		next.ID, next.UserID, next.Version = cur.ID, cur.UserID, cur.Version+1
		result, err = tx.Save(ctx, next)
		return err
	})
	return result, err
}

func DeleteTask(s todoapi.Store, ctx context.Context, userID string, id int64) error {
	return s.Write(ctx, userID, func(tx todoapi.StoreTx) error {
		cur, err := tx.Task(ctx, id)
		if err != nil {
			return err
		}
		return tx.Delete(ctx, id, cur.Version, cur.UpdatedAt)
	})
}
