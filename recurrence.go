package todoapi

import (
	"errors"
	"strings"
	"sync"
	"time"
)

// RuleEngine does the calendar arithmetic of recurring tasks: it reads
// RFC 5545 recurrence rules (the value of an RRULE line, such as
// "FREQ=WEEKLY;BYDAY=MO,WE") and finds their occurrences. The domain keeps
// only the rules about when a next occurrence is due; the arithmetic itself
// (weeks, month lengths, leap years, BYDAY sets) lives behind this interface
// so that the domain stays free of outside libraries.
type RuleEngine interface {
	// CanonicalRule checks rule and returns the spelling to store, or an
	// error whose text tells the client that sent it what is wrong.
	CanonicalRule(rule string) (string, error)

	// Next returns the first occurrence of the series that rule and start
	// define that falls strictly after after, and false when the series
	// has no occurrence after it (COUNT or UNTIL ended it). Occurrences
	// are computed in loc, so that a series keeps its local wall-clock
	// time across daylight-saving changes; start is the series' first
	// occurrence and always counts as one, as RFC 5545 counts DTSTART.
	// rule is one that CanonicalRule accepted.
	Next(rule string, loc *time.Location, start, after time.Time) (time.Time, bool, error)
}

// DefaultTimezone is the zone of a task that names none.
const DefaultTimezone = "UTC"

// MaxTimezoneLen bounds a zone name; the longest IANA name is about 32
// characters.
const MaxTimezoneLen = 64

// zones caches loaded locations: loading one reads and parses a zone file.
// Only names that loaded are kept, so the cache is bounded by the IANA
// database's size.
var zones sync.Map // string → *time.Location

// LoadTimezone returns the IANA time zone name names, or an error that
// says why it is not one. "Local" and the empty name, which Go accepts,
// are refused: a task's zone must mean the same on every server.
func LoadTimezone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	switch {
	case name == "":
		return nil, errors.New("must not be empty")
	case len(name) > MaxTimezoneLen:
		return nil, errors.New("must be an IANA time zone name such as \"Europe/Berlin\"")
	case name == "Local" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00"):
		return nil, errors.New("must be an IANA time zone name such as \"Europe/Berlin\"")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errors.New("must be an IANA time zone name such as \"Europe/Berlin\"")
	}
	zones.Store(name, loc)
	return loc, nil
}
