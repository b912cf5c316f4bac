package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/postgres"
)

// pgbenchResult is the database's own ceiling for the list query.
type pgbenchResult struct {
	tps    float64
	script string
	note   string // why it did not run, when it did not
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench runs the statement the PostgreSQL store sends for GET
// /api/{user}/tasks (a 20-task list: default filter and sort, one page),
// for users base+1…base+n chosen at random, over conns connections for dur,
// with prepared statements as pgx's statement cache sends them.
func pgbench(ctx context.Context, dbURL, dir string, base, n, conns int, dur time.Duration) pgbenchResult {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		for _, p := range []string{"/usr/lib/postgresql/*/bin/pgbench"} {
			if m, _ := filepath.Glob(p); len(m) > 0 {
				bin, err = m[len(m)-1], nil
			}
		}
	}
	if err != nil {
		return pgbenchResult{note: "pgbench is not installed (Debian: apt-get install postgresql-client); no database ceiling measured"}
	}
	query, args := postgres.ListSQL("USER", todoapi.TaskFilter{})
	var script strings.Builder
	fmt.Fprintf(&script, "\\set p1 random(%d, %d)\n", base+1, base+n)
	for i, a := range args[1:] {
		fmt.Fprintf(&script, "\\set p%d %v\n", i+2, a)
	}
	// $10 before $1: replace the longest numbers first.
	for i := len(args); i >= 1; i-- {
		query = strings.ReplaceAll(query, "$"+strconv.Itoa(i), ":p"+strconv.Itoa(i))
	}
	script.WriteString(query + ";\n")
	path := filepath.Join(dir, "list.sql")
	if err := os.WriteFile(path, []byte(script.String()), 0o644); err != nil {
		return pgbenchResult{note: err.Error()}
	}
	secs := max(1, int(dur.Round(time.Second).Seconds()))
	cmd := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-f", path,
		"-c", strconv.Itoa(conns), "-j", "2", "-T", strconv.Itoa(secs), dbURL)
	out, err := cmd.CombinedOutput()
	m := tpsLine.FindSubmatch(out)
	if err != nil || m == nil {
		return pgbenchResult{script: script.String(), note: fmt.Sprintf("pgbench failed (%v): %s", err, lastLines(string(out), 5))}
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	return pgbenchResult{tps: tps, script: script.String()}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
