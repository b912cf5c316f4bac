package todoapi

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	good := map[string]time.Time{
		"2026-12-01T17:00:00Z":              utc("2026-12-01T17:00:00Z"),
		"2026-12-01T17:00:00+02:00":         utc("2026-12-01T15:00:00Z"),
		"2026-12-01T17:00:00.1234567-01:30": utc("2026-12-01T18:30:00.123456Z"),
		"2026-12-01":                        utc("2026-12-01T00:00:00Z"),
		"2026-12-01T09:30":                  utc("2026-12-01T09:30:00Z"),
		"2026-12-01T09:30:15":               utc("2026-12-01T09:30:15Z"),
	}
	for in, want := range good {
		got, err := ParseTime(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v in UTC", in, got, err, want)
		}
	}
	for _, in := range []string{"", "tomorrow", "2026-13-01", "2026-12-01 09:30", "12/01/2026", "2026-12-01T25:00:00Z", "1764547200",
		"9999-12-31T23:30:00-01:00", "0000-01-01T00:00:00+01:00", "0000-06-01"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) succeeded; want an error", in)
		}
	}
}

func TestValidateCollectsEveryField(t *testing.T) {
	_, err := TaskPatch{
		Description: Value(strings.Repeat("d", MaxDescriptionLen+1)),
		Priority:    Value("urgent"),
		Tags:        Value([]string{"ok", " "}),
		DueDate:     Value("soon"),
	}.validate(true, nil)
	var v *ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v; want a *ValidationError", err)
	}
	want := []string{"description", "due_date", "priority", "tags", "title"}
	if got := v.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("invalid fields = %v; want %v", got, want)
	}
}

func TestCleanTags(t *testing.T) {
	got, msg := cleanTags([]string{" Home ", "work", "HOME", "home", "Work "})
	if msg != "" || strings.Join(got, ",") != "Home,work" {
		t.Errorf("cleanTags = %q, %q; want [Home work]", got, msg)
	}
	// Duplicates are what Fold equates, as the tag filter and the tag list
	// compare: ſ and s, the Kelvin sign and k, final and medial sigma.
	got, msg = cleanTags([]string{"ſ", "S", "K", "k", "σας", "ΣΑΣ", "σασ"})
	if msg != "" || strings.Join(got, ",") != "ſ,K,σας" {
		t.Errorf("cleanTags = %q, %q; want [ſ K σας]", got, msg)
	}
	many := make([]string, 0, MaxTags+5)
	for i := range MaxTags + 1 {
		many = append(many, strings.Repeat("x", i+1))
	}
	if _, msg := cleanTags(many); msg == "" {
		t.Errorf("%d distinct tags accepted", len(many))
	}
	// Duplicates do not count against the limit.
	dups := append(many[:MaxTags:MaxTags], "X", "XX")
	if got, msg := cleanTags(dups); msg != "" || len(got) != MaxTags {
		t.Errorf("20 distinct tags plus duplicates: %d tags, %q", len(got), msg)
	}
}

func TestApplyCompletion(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	task := Task{Title: "a", CreatedAt: t0, UpdatedAt: t0}

	if !(taskChange{completed: Value(true)}).apply(&task, t1) {
		t.Fatal("completing reported no change")
	}
	if !task.Completed || task.CompletedAt == nil || !task.CompletedAt.Equal(t1) || !task.UpdatedAt.Equal(t1) {
		t.Fatalf("after completing: %+v", task)
	}
	if (taskChange{completed: Value(true), title: Value("a")}).apply(&task, t2) {
		t.Fatal("setting the values it already has reported a change")
	}
	if !task.CompletedAt.Equal(t1) || !task.UpdatedAt.Equal(t1) {
		t.Fatalf("a no-op moved timestamps: %+v", task)
	}
	if !(taskChange{completed: Value(false)}).apply(&task, t2) || task.CompletedAt != nil || !task.UpdatedAt.Equal(t2) {
		t.Fatalf("after reopening: %+v", task)
	}
}

func TestTitleRules(t *testing.T) {
	for _, tc := range []struct {
		title string
		want  string // "" means valid, else the expected title stored
		ok    bool
	}{
		{"  Buy milk \u00a0", "Buy milk", true},
		{strings.Repeat("é", MaxTitleLen), strings.Repeat("é", MaxTitleLen), true},
		{" " + strings.Repeat("🙂", MaxTitleLen) + "\t", strings.Repeat("🙂", MaxTitleLen), true},
		{strings.Repeat("é", MaxTitleLen+1), "", false},
		{"   ", "", false},
		{"a\x00b", "", false},
		{"a\nb", "", false},
		{"a\u0085b", "", false},
		{"a\xffb", "", false},
	} {
		c, err := TaskPatch{Title: Value(tc.title)}.validate(true, nil)
		if tc.ok != (err == nil) || (tc.ok && c.title.Value != tc.want) {
			t.Errorf("title %q: got %q, %v; want ok=%v %q", tc.title, c.title.Value, err, tc.ok, tc.want)
		}
	}
	if _, err := (TaskPatch{Description: Value("line 1\r\n\tline 2")}).validate(false, nil); err != nil {
		t.Errorf("description with line breaks and tabs rejected: %v", err)
	}
}

// RFC 3339 offsets run from -23:59 to +23:59; time.Parse alone also takes
// +24:00, which clients' own parsers refuse to read back.
func TestParseTimeOffsetRange(t *testing.T) {
	for _, in := range []string{"2026-12-01T17:00:00+24:00", "2026-12-01T17:00:00-24:00", "2026-12-01T17:00:00.5+24:00", "2026-12-01T17:00:00+23:60"} {
		if got, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v; want an error", in, got)
		}
	}
	for _, in := range []string{"2026-12-01T17:00:00+23:59", "2026-12-01T17:00:00-23:59", "2026-12-01T17:00:00+00:00", "2026-12-01T17:00:00-00:00"} {
		if _, err := ParseTime(in); err != nil {
			t.Errorf("ParseTime(%q): %v", in, err)
		}
	}
	_, err := TaskPatch{Title: Value("t"), DueDate: Value("2026-12-01T17:00:00+24:00")}.validate(true, nil)
	var invalid *ValidationError
	if !errors.As(err, &invalid) || invalid.Fields["due_date"] == "" {
		t.Errorf("validate with a +24:00 due date: %v; want a ValidationError naming due_date", err)
	}
}
