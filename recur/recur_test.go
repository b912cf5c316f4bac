package recur_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/recur"
)

// Calendar facts the cases below rely on (checked with a wall calendar,
// not with the library under test):
//
//   - 2026-03-01 is a Sunday, so 2026-03-09 is a Monday and 2026-03-27 a
//     Friday; 2026-11-01 is a Sunday and 2027-11-01 a Monday.
//   - America/New_York is UTC-5 (EST) until 2026-03-08 02:00, when clocks
//     jump to 03:00 (EDT, UTC-4); EST returns on 2026-11-01 at 02:00 EDT,
//     when clocks fall back to 01:00.
//   - Europe/Berlin is UTC+1 (CET) until 2026-03-29 02:00, when clocks
//     jump to 03:00 (CEST, UTC+2); CET returns on 2026-10-25 at 03:00 CEST,
//     when clocks fall back to 02:00.
//   - 2028 is a leap year; 2029–2031 are not; 2032 is.
func TestNext(t *testing.T) {
	cases := []struct {
		name       string
		rule, zone string
		start      string // the series' first occurrence
		after      string
		want       string // "" when the series has ended
	}{
		// 09:00 EST is 14:00Z; the next day 09:00 is EDT, 13:00Z: the
		// wall-clock time stays, the UTC time moves an hour earlier.
		{"NY daily over spring forward", "FREQ=DAILY", "America/New_York",
			"2026-03-07T14:00:00Z", "2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"},
		{"NY daily the day after spring forward", "FREQ=DAILY", "America/New_York",
			"2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"},
		// 09:00 EDT is 13:00Z; after the fall back 09:00 EST is 14:00Z.
		{"NY daily over fall back", "FREQ=DAILY", "America/New_York",
			"2026-10-31T13:00:00Z", "2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"},
		// 09:00 CET is 08:00Z; 09:00 CEST is 07:00Z.
		{"Berlin daily over spring forward", "FREQ=DAILY", "Europe/Berlin",
			"2026-03-28T08:00:00Z", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"},
		{"Berlin daily over fall back", "FREQ=DAILY", "Europe/Berlin",
			"2026-10-24T07:00:00Z", "2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"},
		// Weekly on Saturdays at 09:00 New York: Mar 7 EST (14:00Z),
		// Mar 14 EDT (13:00Z).
		{"NY weekly over spring forward", "FREQ=WEEKLY", "America/New_York",
			"2026-03-07T14:00:00Z", "2026-03-07T14:00:00Z", "2026-03-14T13:00:00Z"},
		// 02:30 on Mar 8 does not exist in New York. RFC 5545 reads such a
		// time with the offset before the gap: 02:30 EST = 07:30Z (which
		// the clocks show as 03:30 EDT). The day after, 02:30 EDT = 06:30Z.
		{"NY 02:30 on the skipped hour", "FREQ=DAILY", "America/New_York",
			"2026-03-07T07:30:00Z", "2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z"},
		{"NY 02:30 the day after the skipped hour", "FREQ=DAILY", "America/New_York",
			"2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"},
		// 02:30 on Oct 25 happens twice in Berlin (CEST, then CET); RFC 5545
		// takes the first: 02:30 CEST = 00:30Z.
		{"Berlin 02:30 on the repeated hour", "FREQ=DAILY", "Europe/Berlin",
			"2026-10-24T00:30:00Z", "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z"},
		// Every weekday at 09:00 in Berlin: Friday Mar 27 (CET, 08:00Z)
		// is followed by Monday Mar 30, after the change (CEST, 07:00Z).
		{"Berlin weekdays over a weekend with the change", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "Europe/Berlin",
			"2026-03-27T08:00:00Z", "2026-03-27T08:00:00Z", "2026-03-30T07:00:00Z"},
		// Monthly from Jan 31: February has no 31st, so RFC 5545 skips it
		// (it does not move to Feb 28); April has none either.
		{"monthly on the 31st skips February", "FREQ=MONTHLY", "UTC",
			"2026-01-31T10:00:00Z", "2026-01-31T10:00:00Z", "2026-03-31T10:00:00Z"},
		{"monthly on the 31st skips April", "FREQ=MONTHLY", "UTC",
			"2026-01-31T10:00:00Z", "2026-03-31T10:00:00Z", "2026-05-31T10:00:00Z"},
		// The 29th: February 2027 has 28 days (skipped), 2028 has 29.
		{"monthly on the 29th, common year", "FREQ=MONTHLY;BYMONTHDAY=29", "UTC",
			"2027-01-29T10:00:00Z", "2027-01-29T10:00:00Z", "2027-03-29T10:00:00Z"},
		{"monthly on the 29th, leap year", "FREQ=MONTHLY;BYMONTHDAY=29", "UTC",
			"2028-01-29T10:00:00Z", "2028-01-29T10:00:00Z", "2028-02-29T10:00:00Z"},
		// Yearly from Feb 29 2028: the next Feb 29 is in 2032.
		{"yearly on Feb 29", "FREQ=YEARLY", "UTC",
			"2028-02-29T12:00:00Z", "2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"},
		// BYMONTHDAY=-1 is the last day of each month: Jan 31, Feb 28, Mar 31.
		{"last day of the month, February", "FREQ=MONTHLY;BYMONTHDAY=-1", "UTC",
			"2026-01-31T10:00:00Z", "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z"},
		{"last day of the month, March", "FREQ=MONTHLY;BYMONTHDAY=-1", "UTC",
			"2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z"},
		// Monday Mar 9, Wednesday Mar 11, Friday Mar 13, Monday Mar 16.
		{"BYDAY set, Monday to Wednesday", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "UTC",
			"2026-03-09T09:00:00Z", "2026-03-09T09:00:00Z", "2026-03-11T09:00:00Z"},
		{"BYDAY set, Friday to Monday", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "UTC",
			"2026-03-09T09:00:00Z", "2026-03-13T09:00:00Z", "2026-03-16T09:00:00Z"},
		// Every other week on Tuesday and Thursday from Tuesday Mar 10:
		// Mar 10, 12, (week of Mar 16 skipped), Mar 24, 26.
		{"INTERVAL=2 weekly, within the week", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "UTC",
			"2026-03-10T09:00:00Z", "2026-03-10T09:00:00Z", "2026-03-12T09:00:00Z"},
		{"INTERVAL=2 weekly, skipping a week", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "UTC",
			"2026-03-10T09:00:00Z", "2026-03-12T09:00:00Z", "2026-03-24T09:00:00Z"},
		// Every third day from Mar 1: 1, 4, 7; the first after Mar 5 is Mar 7.
		{"INTERVAL=3 daily, from between occurrences", "FREQ=DAILY;INTERVAL=3", "UTC",
			"2026-03-01T09:00:00Z", "2026-03-05T12:00:00Z", "2026-03-07T09:00:00Z"},
		// Every other month on the 31st from January: Jan, Mar, May, Jul.
		{"INTERVAL=2 monthly on the 31st", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31", "UTC",
			"2026-01-31T10:00:00Z", "2026-03-31T10:00:00Z", "2026-05-31T10:00:00Z"},
		// The last Friday of April 2026 is the 24th (the 30th is a Thursday).
		{"last Friday of the month", "FREQ=MONTHLY;BYDAY=-1FR", "UTC",
			"2026-03-27T09:00:00Z", "2026-03-27T09:00:00Z", "2026-04-24T09:00:00Z"},
		// The fourth Thursday of November: Nov 26 2026, Nov 25 2027.
		{"fourth Thursday of November", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "UTC",
			"2026-11-26T17:00:00Z", "2026-11-26T17:00:00Z", "2027-11-25T17:00:00Z"},
		// Twice a day, 09:00 and 21:00 New York: 21:00 EST on Mar 7 is
		// 02:00Z on Mar 8; then 09:00 EDT on Mar 8 is 13:00Z.
		{"BYHOUR twice a day, evening", "FREQ=DAILY;BYHOUR=9,21", "America/New_York",
			"2026-03-07T14:00:00Z", "2026-03-07T14:00:00Z", "2026-03-08T02:00:00Z"},
		{"BYHOUR twice a day, over the change", "FREQ=DAILY;BYHOUR=9,21", "America/New_York",
			"2026-03-07T14:00:00Z", "2026-03-08T02:00:00Z", "2026-03-08T13:00:00Z"},
		// COUNT=3 from Mar 1: Mar 1, 2, 3, then nothing.
		{"COUNT, last occurrence", "FREQ=DAILY;COUNT=3", "UTC",
			"2026-03-01T09:00:00Z", "2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"},
		{"COUNT, series ended", "FREQ=DAILY;COUNT=3", "UTC",
			"2026-03-01T09:00:00Z", "2026-03-03T09:00:00Z", ""},
		{"COUNT=1 is the start alone", "FREQ=DAILY;COUNT=1", "UTC",
			"2026-03-01T09:00:00Z", "2026-03-01T09:00:00Z", ""},
		// A start that does not fit the rule still counts as the first of
		// COUNT: Monday Mar 9, then Wednesday Mar 11, then nothing.
		{"COUNT counts a start off the rule", "FREQ=WEEKLY;BYDAY=WE;COUNT=2", "UTC",
			"2026-03-09T09:00:00Z", "2026-03-09T09:00:00Z", "2026-03-11T09:00:00Z"},
		{"COUNT with a start off the rule, ended", "FREQ=WEEKLY;BYDAY=WE;COUNT=2", "UTC",
			"2026-03-09T09:00:00Z", "2026-03-11T09:00:00Z", ""},
		// UNTIL is inclusive: an occurrence at exactly UNTIL belongs.
		{"UNTIL in UTC, last occurrence", "FREQ=DAILY;UNTIL=20260303T090000Z", "UTC",
			"2026-03-01T09:00:00Z", "2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"},
		{"UNTIL in UTC, series ended", "FREQ=DAILY;UNTIL=20260303T090000Z", "UTC",
			"2026-03-01T09:00:00Z", "2026-03-03T09:00:00Z", ""},
		// A local UNTIL is read in the task's zone: 09:00 New York on
		// Mar 10 is 13:00Z (EDT).
		{"UNTIL in local time, last occurrence", "FREQ=DAILY;UNTIL=20260310T090000", "America/New_York",
			"2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z", "2026-03-10T13:00:00Z"},
		{"UNTIL in local time, series ended", "FREQ=DAILY;UNTIL=20260310T090000", "America/New_York",
			"2026-03-08T13:00:00Z", "2026-03-10T13:00:00Z", ""},
		// A date UNTIL includes its whole day: Mondays Mar 2, 9, 16.
		{"UNTIL as a date includes that day", "FREQ=WEEKLY;UNTIL=20260316", "UTC",
			"2026-03-02T09:00:00Z", "2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z"},
		{"UNTIL as a date, series ended", "FREQ=WEEKLY;UNTIL=20260316", "UTC",
			"2026-03-02T09:00:00Z", "2026-03-16T09:00:00Z", ""},
		// A due date moved before the series' start: the start is next.
		{"after before the start", "FREQ=DAILY", "UTC",
			"2026-03-10T09:00:00Z", "2026-03-01T00:00:00Z", "2026-03-10T09:00:00Z"},
	}
	var e recur.Engine
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rule, err := e.CanonicalRule(c.rule)
			if err != nil {
				t.Fatalf("CanonicalRule(%q): %v", c.rule, err)
			}
			loc, err := todoapi.LoadTimezone(c.zone)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := e.Next(rule, loc, mustTime(t, c.start), mustTime(t, c.after))
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			switch {
			case c.want == "" && ok:
				t.Fatalf("Next = %s, want the series to have ended", got.Format(time.RFC3339))
			case c.want != "" && !ok:
				t.Fatalf("Next reports the series ended, want %s", c.want)
			case c.want != "" && !got.Equal(mustTime(t, c.want)):
				t.Fatalf("Next = %s (%s), want %s", got.Format(time.RFC3339), got.In(loc).Format(time.RFC3339), c.want)
			case ok && got.Location() != time.UTC:
				t.Fatalf("Next returned a time in %s, want UTC", got.Location())
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCanonicalRule(t *testing.T) {
	var e recur.Engine
	for in, want := range map[string]string{
		"FREQ=WEEKLY;BYDAY=MO,WE":                       "FREQ=WEEKLY;BYDAY=MO,WE",
		" rrule:freq=weekly;byday=mo,we ":               "FREQ=WEEKLY;BYDAY=MO,WE",
		"FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=12":           "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=12",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29":           "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
	} {
		got, err := e.CanonicalRule(in)
		if err != nil || got != want {
			t.Errorf("CanonicalRule(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestCanonicalRuleRejects(t *testing.T) {
	var e recur.Engine
	for rule, want := range map[string]string{
		"":                        "must not be empty",
		"FREQ=HOURLY":             "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
		"FREQ=SOMETIMES":          "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
		"INTERVAL=2":              "must have FREQ",
		"FREQ=DAILY;FREQ=WEEKLY":  "must not give FREQ twice",
		"FREQ=DAILY;INTERVAL=0":   "INTERVAL must be a whole number from 1 to 10000",
		"FREQ=DAILY;INTERVAL=two": "INTERVAL must be a whole number from 1 to 10000",
		"FREQ=DAILY;COUNT=0":      "COUNT must be a whole number from 1 to 100000",
		"FREQ=DAILY;COUNT=2;UNTIL=20260101T000000Z":          "must not have both COUNT and UNTIL",
		"FREQ=DAILY;UNTIL=tomorrow":                          "UNTIL must be a date YYYYMMDD or a date-time YYYYMMDDTHHMMSS[Z]",
		"FREQ=WEEKLY;BYMONTHDAY=1":                           "BYMONTHDAY cannot be used with FREQ=WEEKLY",
		"FREQ=MONTHLY;BYMONTHDAY=32":                         "BYMONTHDAY must list numbers from 1 to 31 or -31 to -1",
		"FREQ=MONTHLY;BYMONTHDAY=0":                          "BYMONTHDAY must list numbers from 1 to 31 or -31 to -1",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30":                "BYMONTHDAY names no day that the months of BYMONTH have",
		"FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31":              "BYMONTHDAY names no day that the months of BYMONTH have",
		"FREQ=YEARLY;BYMONTH=13":                             "BYMONTH must list numbers from 1 to 12",
		"FREQ=WEEKLY;BYDAY=XX":                               `BYDAY must list weekdays such as MO or 2MO (found "XX")`,
		"FREQ=MONTHLY;BYDAY=0MO":                             `BYDAY's ordinal must be 1 to 53 or -1 to -53 (found "0MO")`,
		"FREQ=DAILY;BYDAY=2MO":                               "BYDAY with a number (such as 2MO) needs FREQ=MONTHLY or FREQ=YEARLY",
		"FREQ=MONTHLY;BYYEARDAY=100":                         "BYYEARDAY can only be used with FREQ=YEARLY",
		"FREQ=MONTHLY;BYWEEKNO=1":                            "BYWEEKNO can only be used with FREQ=YEARLY",
		"FREQ=MONTHLY;BYSETPOS=1":                            "BYSETPOS needs another BY part to select from",
		"FREQ=DAILY;BYHOUR=24":                               "BYHOUR must list numbers from 0 to 23",
		"FREQ=DAILY;BYHOUR=1,2,3,4,5;BYMINUTE=0,10,20,30,40": "must not repeat more than 24 times a day",
		"FREQ=DAILY;DTSTART=20260101T000000Z":                "must not contain DTSTART",
		"FREQ=DAILY;X-NAME=1":                                "has an unknown part X-NAME",
		"FREQ=DAILY;;COUNT=2":                                `must be NAME=VALUE parts separated by ";"`,
		"FREQ=DAILY\nRRULE:FREQ=WEEKLY":                      "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
		strings.Repeat("FREQ=DAILY;", 60):                    "must be at most 500 characters",
	} {
		got, err := e.CanonicalRule(rule)
		if err == nil {
			t.Errorf("CanonicalRule(%q) = %q, want an error", rule, got)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CanonicalRule(%q) error = %q, want it to say %q", rule, err, want)
		}
	}
}

func TestLoadTimezone(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"} {
		if _, err := todoapi.LoadTimezone(name); err != nil {
			t.Errorf("LoadTimezone(%q): %v", name, err)
		}
	}
	for _, name := range []string{"", "Local", "Mars/Olympus", "europe/berlin", "../../etc/passwd", "/etc/localtime", strings.Repeat("A", 100)} {
		if _, err := todoapi.LoadTimezone(name); err == nil {
			t.Errorf("LoadTimezone(%q) succeeded, want an error", name)
		}
	}
}

// A series walked past its bound reports so instead of spinning.
func TestNextBounded(t *testing.T) {
	var e recur.Engine
	start := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, err := e.Next("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23", time.UTC, start, time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC))
	if !errors.Is(err, recur.ErrSeriesTooLong) {
		t.Fatalf("Next over 9000 years of hourly occurrences: err = %v, want ErrSeriesTooLong", err)
	}
}

// BenchmarkNext measures finding the next occurrence, which completing a
// recurring task does inside its write: a weekday series in Berlin whose
// start is the task's own due date, and daily series a year and ten years
// old (Next walks a series from its start).
func BenchmarkNext(b *testing.B) {
	var e recur.Engine
	berlin, err := todoapi.LoadTimezone("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	due := time.Date(2026, 3, 27, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		rule  string
		start time.Time
	}{
		{"weekdays/fresh", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", due},
		{"daily/1y", "FREQ=DAILY", due.AddDate(-1, 0, 0)},
		{"daily/10y", "FREQ=DAILY", due.AddDate(-10, 0, 0)},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok, err := e.Next(c.rule, berlin, c.start, due); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// Next skips ahead in a series without COUNT instead of walking it from
// its start; with COUNT it walks. Both must find the same occurrence: a
// rule with COUNT=100000 never ends within these ranges, so it is the
// walked reference for the same rule without COUNT.
func TestNextSkipsAheadLikeAWalk(t *testing.T) {
	var e recur.Engine
	rules := []string{
		"FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;BYHOUR=9,21", "FREQ=DAILY;BYDAY=MO,FR;BYMONTH=1,7",
		"FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,WE",
		"FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=5", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYMONTHDAY=-1;INTERVAL=2",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=MONTHLY;INTERVAL=7;BYMONTHDAY=31",
		"FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=4", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
		"FREQ=YEARLY;INTERVAL=3;BYMONTH=2,8;BYMONTHDAY=29",
	}
	zones := []string{"UTC", "Europe/Berlin", "America/New_York"}
	starts := []string{"2024-02-29T09:00:00Z", "2026-01-31T23:30:00Z", "2026-03-08T07:30:00Z", "2025-10-26T00:30:00Z", "2023-06-15T12:34:56Z"}
	spans := []time.Duration{0, time.Hour, 40 * time.Hour, 9 * 24 * time.Hour, 100 * 24 * time.Hour, 400 * 24 * time.Hour,
		3*365*24*time.Hour + 7*time.Hour, 11*365*24*time.Hour + 13*time.Hour}
	checked := 0
	for _, rule := range rules {
		for _, zone := range zones {
			loc, err := todoapi.LoadTimezone(zone)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range starts {
				start := mustTime(t, s)
				for _, span := range spans {
					after := start.Add(span)
					got, ok, err := e.Next(rule, loc, start, after)
					want, wok, werr := e.Next(rule+";COUNT=100000", loc, start, after)
					if err != nil || werr != nil || ok != wok || !got.Equal(want) {
						t.Errorf("%s in %s from %s, after %s: skipping ahead gives %s %v %v, walking %s %v %v",
							rule, zone, s, after.Format(time.RFC3339), got.Format(time.RFC3339), ok, err, want.Format(time.RFC3339), wok, werr)
					}
					checked++
				}
			}
		}
	}
	t.Logf("%d cases agree", checked)
}
