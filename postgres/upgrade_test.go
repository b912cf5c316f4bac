package postgres_test

import (
	"testing"
	"time"

	"github.com/todoapi/todoapi/internal/storetest"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

// Tasks stored before the listing migration get their folded columns from
// it.
func TestListingMigrationFoldsExistingRows(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.NewDatabase(t))
	if err := s.MigrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, `INSERT INTO users (id, first_seen_at, last_seen_at) VALUES ('alice', now(), now())`); err != nil {
		t.Fatal(err)
	}
	for i, task := range storetest.OldTasks {
		at := time.Unix(int64(i), 0)
		if err := s.Exec(ctx, `
			INSERT INTO tasks (user_id, title, description, priority, tags, created_at, updated_at)
			VALUES ($1, $2, $3, 2, $4, $5, $5)`,
			task.UserID, task.Title, task.Description, task.Tags, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckUpgrade(t, s)
}
