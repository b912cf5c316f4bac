package migrate

import (
	"io/fs"
	"reflect"
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
