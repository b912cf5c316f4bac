package sqlite_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/todoapi/todoapi/internal/storetest"
)

// Tasks stored before the listing migration get their folded columns from
// it.
func TestListingMigrationFoldsExistingRows(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "todo.db"))
	if err := s.MigrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, `INSERT INTO users (id, first_seen_at, last_seen_at) VALUES ('alice', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	for i, task := range storetest.OldTasks {
		tags, _ := json.Marshal(task.Tags)
		if err := s.Exec(ctx, `
			INSERT INTO tasks (user_id, title, description, priority, tags, created_at, updated_at)
			VALUES (?, ?, ?, 2, ?, ?, ?)`,
			task.UserID, task.Title, task.Description, string(tags), i, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckUpgrade(t, s)
}
