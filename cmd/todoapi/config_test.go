package main

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEConfiguration holds the README's configuration table to the
// settings table: every variable is in both, with the same default. A
// README cell may explain a default after a colon ("unset: off").
func TestREADMEConfiguration(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Configuration\n")
	if !ok {
		t.Fatal("README has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	documented := map[string]string{} // name → its default as the README gives it
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) < 3 {
			t.Errorf("README row with fewer than 3 cells: %s", line)
			continue
		}
		var names []string
		for _, m := range name.FindAllStringSubmatch(cells[0], -1) {
			names = append(names, m[1])
		}
		def := strings.ReplaceAll(cells[len(cells)-1], "`", "")
		defs := []string{def}
		if len(names) > 1 {
			// "`HOST`, `PORT`" | … | "`127.0.0.1`, `8000`"
			defs = strings.Split(def, ", ")
			if len(defs) == 1 {
				defs = slices.Repeat([]string{def}, len(names))
			}
		}
		if len(defs) != len(names) {
			t.Errorf("README row %v has %d defaults: %s", names, len(defs), line)
			continue
		}
		for i, n := range names {
			if _, dup := documented[n]; dup {
				t.Errorf("README documents %s twice", n)
			}
			documented[n] = defs[i]
		}
	}
	for _, s := range settings {
		got, ok := documented[s.name]
		delete(documented, s.name)
		switch want := s.defaultShown(); {
		case !ok:
			t.Errorf("README does not document %s (default %s)", s.name, want)
		case got != want && !strings.HasPrefix(got, want+":"):
			t.Errorf("README gives %s the default %q; the settings table says %q", s.name, got, want)
		}
	}
	for n := range documented {
		t.Errorf("README documents %s, which is not in the settings table", n)
	}
}

// TestHelpListsEverySetting: --help names every variable with its default.
func TestHelpListsEverySetting(t *testing.T) {
	var help bytes.Buffer
	usage(&help)
	for _, s := range settings {
		if !regexp.MustCompile(`(?m)^  ` + s.name + ` .*\(default: ` + regexp.QuoteMeta(s.defaultShown()) + `\)$`).MatchString(help.String()) {
			t.Errorf("--help has no line for %s with its default %s:\n%s", s.name, s.defaultShown(), help.String())
		}
	}
}
