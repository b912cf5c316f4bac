package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadSortsByVersion(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql":  {Data: []byte("SELECT 10;")},
		"m/0002_second.sql": {Data: []byte("SELECT 2;")},
		"m/0001_init.sql":   {Data: []byte("SELECT 1;")},
	}
	got, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{
		{Version: 1, Name: "0001_init", SQL: "SELECT 1;"},
		{Version: 2, Name: "0002_second", SQL: "SELECT 2;"},
		{Version: 10, Name: "0010_later", SQL: "SELECT 10;"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load = %+v, want %+v", got, want)
	}
}

func TestLoadRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		files   fstest.MapFS
		wantErr string
	}{
		"duplicate version": {fstest.MapFS{
			"m/0001_a.sql": {Data: []byte("x")},
			"m/1_b.sql":    {Data: []byte("y")},
		}, "same version 1"},
		"no number":       {fstest.MapFS{"m/init.sql": {Data: []byte("x")}}, "name must look like"},
		"dash":            {fstest.MapFS{"m/0001-init.sql": {Data: []byte("x")}}, "name must look like"},
		"not sql":         {fstest.MapFS{"m/0001_init.txt": {Data: []byte("x")}}, "name must look like"},
		"version zero":    {fstest.MapFS{"m/0000_init.sql": {Data: []byte("x")}}, "positive"},
		"empty file":      {fstest.MapFS{"m/0001_init.sql": {Data: []byte(" \n")}}, "empty"},
		"directory":       {fstest.MapFS{"m/0001_init.sql/x": {Data: []byte("x")}}, "name must look like"},
		"no migrations":   {fstest.MapFS{"other/0001_init.sql": {Data: []byte("x")}, "m": {Mode: fs.ModeDir | 0o755}}, "no migrations"},
		"missing dir":     {fstest.MapFS{}, "read migrations"},
		"version too big": {fstest.MapFS{"m/99999999999999999999_x.sql": {Data: []byte("x")}}, "positive"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tc.files, "m")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Load error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestPending(t *testing.T) {
	all := []Migration{{Version: 1}, {Version: 2}, {Version: 3}}
	got := Pending(all, []int64{1, 3, 7})
	if len(got) != 1 || got[0].Version != 2 {
		t.Fatalf("Pending = %+v, want only version 2", got)
	}
	if got := Pending(all, []int64{1, 2, 3}); len(got) != 0 {
		t.Fatalf("Pending with everything applied = %+v, want none", got)
	}
}

// fakeTx logs what Apply does with it.
type fakeTx struct {
	applied []int64
	log     []string
	failOn  string // a log entry whose operation fails
}

func (tx *fakeTx) do(entry string) error {
	tx.log = append(tx.log, entry)
	if entry == tx.failOn {
		return errors.New("boom")
	}
	return nil
}

func (tx *fakeTx) Applied(context.Context) ([]int64, error) { return tx.applied, tx.do("applied") }
func (tx *fakeTx) Run(_ context.Context, sql string) error  { return tx.do("run " + sql) }
func (tx *fakeTx) Record(_ context.Context, m Migration) error {
	return tx.do("record " + m.Name)
}

func TestApply(t *testing.T) {
	all := []Migration{
		{Version: 1, Name: "0001_a", SQL: "A"},
		{Version: 2, Name: "0002_b", SQL: "B"},
		{Version: 3, Name: "0003_c", SQL: "C"},
		{Version: 4, Name: "0004_d", SQL: "D"},
	}
	steps := map[int64]Step[*fakeTx]{
		1: func(_ context.Context, tx *fakeTx) error { return tx.do("step 1") },
		3: func(_ context.Context, tx *fakeTx) error { return tx.do("step 3") },
	}
	fail := func(op string, err error) error { return fmt.Errorf("%s: %w", op, err) }

	tx := &fakeTx{applied: []int64{2, 9}}
	if err := Apply(t.Context(), tx, all, 3, steps, fail); err != nil {
		t.Fatal(err)
	}
	want := []string{"applied", "run A", "step 1", "record 0001_a", "run C", "step 3", "record 0003_c"}
	if !slices.Equal(tx.log, want) {
		t.Fatalf("Apply did %q, want %q", tx.log, want)
	}

	for failOn, wantErr := range map[string]string{
		"applied":       "migrate: read applied versions: boom",
		"run C":         "migrate: apply 0003_c: boom",
		"step 3":        "migrate: apply 0003_c: boom",
		"record 0003_c": "migrate: record 0003_c: boom",
	} {
		tx := &fakeTx{applied: []int64{1, 2}, failOn: failOn}
		err := Apply(t.Context(), tx, all, math.MaxInt64, steps, fail)
		if err == nil || err.Error() != wantErr {
			t.Errorf("Apply failing on %q: err = %v, want %q", failOn, err, wantErr)
		}
		if last := tx.log[len(tx.log)-1]; last != failOn {
			t.Errorf("Apply failing on %q went on to %q", failOn, last)
		}
	}
}
