// Package recur implements todoapi.RuleEngine with github.com/teambition/rrule-go,
// a port of python-dateutil's rrule, for the occurrence arithmetic.
//
// The library's own parser is lenient in places a public API must not be
// (it accepts DTSTART inside the rule, COUNT together with UNTIL, an
// INTERVAL of 0, and reports bad numbers with strconv's wording), so rules
// are read here, with messages meant for the client that sent them, and
// only the validated options are handed to the library.
package recur

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // task zones must load on machines without a zone database

	"github.com/teambition/rrule-go"

	"github.com/todoapi/todoapi"
)

// MaxRuleLen bounds a rule's text: a long rule is a mistake or an attack,
// never a schedule.
const MaxRuleLen = 500

// maxPerDay bounds how many occurrences a rule may put on one day (BYHOUR
// × BYMINUTE × BYSECOND): a to-do that repeats every minute is not a
// to-do, and walking such a series costs time in proportion.
const maxPerDay = 24

// maxSteps bounds how many occurrences Next walks from a series' start.
// A daily series completed every day for a century is about 37 000 steps,
// so the bound is met only by a series no one keeps.
const maxSteps = 1_000_000

// ErrSeriesTooLong means Next gave up walking a series before reaching the
// time asked about.
var ErrSeriesTooLong = errors.New("recurrence series too long to walk")

// Engine is the RuleEngine. The zero value is ready to use.
type Engine struct{}

var _ todoapi.RuleEngine = Engine{}

// CanonicalRule reads rule and returns it upper-cased, without an
// "RRULE:" prefix and surrounding white space, in the order the client
// wrote its parts.
func (Engine) CanonicalRule(rule string) (string, error) {
	canon := strings.ToUpper(strings.TrimSpace(rule))
	canon = strings.TrimPrefix(canon, "RRULE:")
	if _, err := parse(canon); err != nil {
		return "", err
	}
	return canon, nil
}

// Next implements todoapi.RuleEngine.
//
// The library is given wall-clock times: the series' start as the clocks
// in loc show it, written as if it were UTC. In UTC no day is 23 or 25
// hours long, so every occurrence it finds is the wall-clock time the rule
// means, and resolve turns each into an instant the way RFC 5545 says (Go's
// time.Date, which the library would otherwise use, reads a time in a
// daylight-saving gap or overlap differently).
func (Engine) Next(rule string, loc *time.Location, start, after time.Time) (time.Time, bool, error) {
	p, err := parse(rule)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read stored rule %q: %w", rule, err)
	}
	start = start.Truncate(time.Second)
	if after.Before(start) {
		return start.UTC(), true, nil
	}
	opt := p.opt
	startWall := wall(start.In(loc))
	opt.Dtstart = startWall
	if p.until != "" {
		u, err := parseUntil(p.until, loc)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("read stored rule %q: %w", rule, err)
		}
		opt.Until = wall(u.In(loc))
	}
	// COUNT is applied here rather than by the library, because the
	// library counts only the occurrences that fit the rule, while
	// RFC 5545 counts the series' start as the first whatever it is.
	opt.Count = 0
	if p.count == 0 {
		fastForward(&opt, wall(after.In(loc)))
	}
	r, err := rrule.NewRRule(opt)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("build rule %q: %w", rule, err)
	}
	next := r.Iterator()
	n := 1 // the start
	for step := 0; ; step++ {
		if step == maxSteps {
			return time.Time{}, false, fmt.Errorf("rule %q from %s: %w", rule, start.Format(time.RFC3339), ErrSeriesTooLong)
		}
		w, ok := next()
		if !ok {
			return time.Time{}, false, nil
		}
		if !w.After(startWall) {
			continue // the start itself, already counted
		}
		n++
		if p.count > 0 && n > p.count {
			return time.Time{}, false, nil
		}
		if t := resolve(w, loc); t.After(after) {
			return t, true, nil
		}
	}
}

// fastForward moves the start of a series without COUNT to shortly before
// after, by a whole number of INTERVAL periods, so that Next does not walk
// every occurrence since the series began (a daily series costs about a
// millisecond a year walked). The parts the library would otherwise take
// from the start (the time of day; the weekday of a weekly rule; the day,
// and month, of a monthly or yearly one) are first written into the rule,
// so that the moved start changes nothing but where the walk begins; a
// whole number of periods keeps INTERVAL's phase. The new start is the
// beginning of its day, week-aligned (same weekday), month or year, at
// least one period before after.
func fastForward(opt *rrule.ROption, after time.Time) {
	start := opt.Dtstart
	if !after.After(start) {
		return
	}
	if len(opt.Byweekno) == 0 && len(opt.Byyearday) == 0 && len(opt.Bymonthday) == 0 &&
		len(opt.Byweekday) == 0 && len(opt.Byeaster) == 0 {
		switch opt.Freq {
		case rrule.YEARLY:
			if len(opt.Bymonth) == 0 {
				opt.Bymonth = []int{int(start.Month())}
			}
			opt.Bymonthday = []int{start.Day()}
		case rrule.MONTHLY:
			opt.Bymonthday = []int{start.Day()}
		case rrule.WEEKLY:
			opt.Byweekday = []rrule.Weekday{weekdayOf(start.Weekday())}
		}
	}
	if len(opt.Byhour) == 0 {
		opt.Byhour = []int{start.Hour()}
	}
	if len(opt.Byminute) == 0 {
		opt.Byminute = []int{start.Minute()}
	}
	if len(opt.Bysecond) == 0 {
		opt.Bysecond = []int{start.Second()}
	}
	n := max(opt.Interval, 1)
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	days := int(after.Sub(day) / (24 * time.Hour))
	switch opt.Freq {
	case rrule.DAILY:
		if k := days/n - 1; k > 0 {
			opt.Dtstart = day.AddDate(0, 0, k*n)
		}
	case rrule.WEEKLY:
		if k := days/(7*n) - 1; k > 0 {
			opt.Dtstart = day.AddDate(0, 0, 7*k*n)
		}
	case rrule.MONTHLY:
		months := (after.Year()-start.Year())*12 + int(after.Month()) - int(start.Month())
		if k := months/n - 1; k > 0 {
			opt.Dtstart = time.Date(start.Year(), start.Month()+time.Month(k*n), 1, 0, 0, 0, 0, time.UTC)
		}
	case rrule.YEARLY:
		if k := (after.Year()-start.Year())/n - 1; k > 0 {
			opt.Dtstart = time.Date(start.Year()+k*n, 1, 1, 0, 0, 0, 0, time.UTC)
		}
	}
}

func weekdayOf(d time.Weekday) rrule.Weekday {
	return [...]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}[d]
}

// wall returns the wall-clock time t shows, as a time in UTC.
func wall(t time.Time) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

// resolve returns the instant at which the clocks in loc show the
// wall-clock time w (written as UTC), in UTC. A time that occurs twice
// (when clocks fall back) is the first of the two; a time that the clocks
// skip (when they spring forward) is read with the offset in force before
// the jump, so 02:30 on a day that jumps from 02:00 to 03:00 is 03:30 of
// the new time. RFC 5545 reads local times this way.
func resolve(w time.Time, loc *time.Location) time.Time {
	var found []time.Time
	seen := map[int]bool{}
	for _, probe := range []time.Time{w.Add(-24 * time.Hour), w, w.Add(24 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		t := w.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(loc).Zone(); o == off {
			found = append(found, t)
		}
	}
	if len(found) == 0 {
		// In a gap: the offset a day before is the one before the jump.
		_, before := w.Add(-24 * time.Hour).In(loc).Zone()
		return w.Add(-time.Duration(before) * time.Second)
	}
	return slices.MinFunc(found, func(a, b time.Time) int { return a.Compare(b) })
}

// parsed is a validated rule: the library's options, with UNTIL kept as
// text until the series' zone is known, and COUNT apart.
type parsed struct {
	opt   rrule.ROption
	until string
	count int
}

var freqs = map[string]rrule.Frequency{
	"DAILY": rrule.DAILY, "WEEKLY": rrule.WEEKLY, "MONTHLY": rrule.MONTHLY, "YEARLY": rrule.YEARLY,
}

var weekdays = map[string]rrule.Weekday{
	"MO": rrule.MO, "TU": rrule.TU, "WE": rrule.WE, "TH": rrule.TH, "FR": rrule.FR, "SA": rrule.SA, "SU": rrule.SU,
}

// parse reads an upper-cased rule. Its errors are written for the client.
func parse(rule string) (parsed, error) {
	var p parsed
	if rule == "" {
		return p, errors.New("must not be empty")
	}
	if len(rule) > MaxRuleLen {
		return p, fmt.Errorf("must be at most %d characters", MaxRuleLen)
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rule, ";") {
		name, value, ok := strings.Cut(part, "=")
		if !ok || name == "" || value == "" {
			return p, fmt.Errorf("must be NAME=VALUE parts separated by \";\" (found %q)", part)
		}
		if seen[name] {
			return p, fmt.Errorf("must not give %s twice", name)
		}
		seen[name] = true
		var err error
		switch name {
		case "FREQ":
			f, ok := freqs[value]
			if !ok {
				return p, errors.New("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
			}
			p.opt.Freq = f
		case "INTERVAL":
			p.opt.Interval, err = number(name, value, 1, 10_000)
		case "COUNT":
			p.count, err = number(name, value, 1, 100_000)
		case "UNTIL":
			if _, err = parseUntil(value, time.UTC); err != nil {
				return p, err
			}
			p.until = value
		case "WKST":
			w, ok := weekdays[value]
			if !ok {
				return p, errors.New("WKST must be one of MO, TU, WE, TH, FR, SA, SU")
			}
			p.opt.Wkst = w
		case "BYDAY":
			p.opt.Byweekday, err = byDay(value)
		case "BYMONTHDAY":
			p.opt.Bymonthday, err = numbers(name, value, 1, 31, true)
		case "BYYEARDAY":
			p.opt.Byyearday, err = numbers(name, value, 1, 366, true)
		case "BYWEEKNO":
			p.opt.Byweekno, err = numbers(name, value, 1, 53, true)
		case "BYMONTH":
			p.opt.Bymonth, err = numbers(name, value, 1, 12, false)
		case "BYSETPOS":
			p.opt.Bysetpos, err = numbers(name, value, 1, 366, true)
		case "BYHOUR":
			p.opt.Byhour, err = numbers(name, value, 0, 23, false)
		case "BYMINUTE":
			p.opt.Byminute, err = numbers(name, value, 0, 59, false)
		case "BYSECOND":
			p.opt.Bysecond, err = numbers(name, value, 0, 59, false)
		case "DTSTART":
			return p, errors.New("must not contain DTSTART: a series starts at the task's due_date")
		default:
			return p, fmt.Errorf("has an unknown part %s", name)
		}
		if err != nil {
			return p, err
		}
	}
	return p, p.check(seen)
}

// check applies the rules of RFC 5545 that tie parts to each other, and
// refuses rules that could never occur or would occur too often to walk.
func (p parsed) check(seen map[string]bool) error {
	o := p.opt
	switch {
	case !seen["FREQ"]:
		return errors.New("must have FREQ (DAILY, WEEKLY, MONTHLY or YEARLY)")
	case seen["COUNT"] && seen["UNTIL"]:
		return errors.New("must not have both COUNT and UNTIL")
	case len(o.Bymonthday) > 0 && o.Freq == rrule.WEEKLY:
		return errors.New("BYMONTHDAY cannot be used with FREQ=WEEKLY")
	case len(o.Byyearday) > 0 && o.Freq != rrule.YEARLY:
		return errors.New("BYYEARDAY can only be used with FREQ=YEARLY")
	case len(o.Byweekno) > 0 && o.Freq != rrule.YEARLY:
		return errors.New("BYWEEKNO can only be used with FREQ=YEARLY")
	case len(o.Bysetpos) > 0 && len(seen) == countOf(seen, "FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYSETPOS"):
		return errors.New("BYSETPOS needs another BY part to select from")
	case max(len(o.Byhour), 1)*max(len(o.Byminute), 1)*max(len(o.Bysecond), 1) > maxPerDay:
		return fmt.Errorf("must not repeat more than %d times a day", maxPerDay)
	}
	for _, w := range o.Byweekday {
		if w.N() != 0 && (o.Freq != rrule.MONTHLY && o.Freq != rrule.YEARLY || len(o.Byweekno) > 0) {
			return errors.New("BYDAY with a number (such as 2MO) needs FREQ=MONTHLY or FREQ=YEARLY without BYWEEKNO")
		}
	}
	// A month day that none of the chosen months has makes a rule that
	// never occurs: the library would search until the year 9999.
	if len(o.Bymonth) > 0 && len(o.Bymonthday) > 0 {
		longest := 0
		for _, m := range o.Bymonth {
			longest = max(longest, daysIn(time.Month(m)))
		}
		if !slices.ContainsFunc(o.Bymonthday, func(d int) bool { return d <= longest && -d <= longest }) {
			return errors.New("BYMONTHDAY names no day that the months of BYMONTH have")
		}
	}
	return nil
}

// daysIn is the most days month can have (29 for February).
func daysIn(m time.Month) int {
	return time.Date(2024, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func countOf(seen map[string]bool, names ...string) int {
	n := 0
	for _, name := range names {
		if seen[name] {
			n++
		}
	}
	return n
}

func number(name, value string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n < lo || n > hi || strings.HasPrefix(value, "+") {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// numbers reads a comma-separated list; signed allows -hi…-lo too.
func numbers(name, value string, lo, hi int, signed bool) ([]int, error) {
	var out []int
	for s := range strings.SplitSeq(value, ",") {
		n, err := strconv.Atoi(s)
		ok := err == nil && (n >= lo && n <= hi || signed && n <= -lo && n >= -hi)
		if !ok {
			if signed {
				return nil, fmt.Errorf("%s must list numbers from %d to %d or -%d to -%d", name, lo, hi, hi, lo)
			}
			return nil, fmt.Errorf("%s must list numbers from %d to %d", name, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// byDay reads a BYDAY list: weekdays, each with an optional ordinal
// ("2MO", "-1FR") that picks one of them within the month or year.
func byDay(value string) ([]rrule.Weekday, error) {
	var out []rrule.Weekday
	for s := range strings.SplitSeq(value, ",") {
		if len(s) < 2 {
			return nil, fmt.Errorf("BYDAY must list weekdays such as MO or 2MO (found %q)", s)
		}
		w, ok := weekdays[s[len(s)-2:]]
		if !ok {
			return nil, fmt.Errorf("BYDAY must list weekdays such as MO or 2MO (found %q)", s)
		}
		if ord := s[:len(s)-2]; ord != "" {
			n, err := strconv.Atoi(ord)
			if err != nil || n == 0 || n > 53 || n < -53 {
				return nil, fmt.Errorf("BYDAY's ordinal must be 1 to 53 or -1 to -53 (found %q)", s)
			}
			w = w.Nth(n)
		}
		out = append(out, w)
	}
	return out, nil
}

// parseUntil reads UNTIL as RFC 5545 writes it: a date, a local date-time
// (read in loc) or a UTC date-time ending in Z.
func parseUntil(value string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"20060102", "20060102T150405"} {
		if len(value) == len(layout) {
			if t, err := time.ParseInLocation(layout, value, loc); err == nil {
				if layout == "20060102" {
					// A date UNTIL includes that whole day.
					t = t.AddDate(0, 0, 1).Add(-time.Second)
				}
				return t, nil
			}
		}
	}
	if t, err := time.Parse("20060102T150405Z", value); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("UNTIL must be a date YYYYMMDD or a date-time YYYYMMDDTHHMMSS[Z]")
}
