// Command todoapi serves the todoapi REST API.
//
//	todoapi [serve]   start the server (the default)
//	todoapi migrate   apply database migrations and exit
//	todoapi token     print a development token signed with BETTER_AUTH_SECRET
//	todoapi version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	tuneGC()
	err := run(context.Background(), os.Args[1:], os.Stdout)
	flushLogs()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "todoapi:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	return runWith(ctx, args, stdout, os.Getenv)
}

// runWith is run with the environment read through getenv, so that tests
// can start servers side by side, each with its own settings, without
// changing the process's environment.
func runWith(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, getenv)
	case "migrate":
		return migrate(ctx, args, stdout, getenv)
	case "token":
		return token(args, stdout, getenv)
	case "version":
		fmt.Fprintln(stdout, "todoapi", versionString())
		return nil
	case "help":
		usage(stdout)
		return nil
	}
	return fmt.Errorf("unknown command %q (try: serve, migrate, token, version, help)", cmd)
}

// newFlags returns a flag set whose --help prints the shared usage text.
func newFlags(name string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		usage(stdout)
		if name != "serve" && name != "migrate" {
			fmt.Fprintf(stdout, "\nFlags of %s:\n", name)
			fs.PrintDefaults()
		}
	}
	return fs
}

func usage(w io.Writer) {
	fmt.Fprint(w, `todoapi: a multi-user to-do list REST API.

Usage:
  todoapi [serve]    start the server (the default)
  todoapi migrate    apply database migrations and exit
  todoapi token --sub USER [--email E] [--name N] [--ttl 1h]
                     print an HS256 token signed with BETTER_AUTH_SECRET
  todoapi version    print the version

Environment (also read from ./.env; the real environment wins):
`)
	width := 0
	for _, s := range settings {
		width = max(width, len(s.name))
	}
	for _, s := range settings {
		fmt.Fprintf(w, "  %-*s  %s (default: %s)\n", width, s.name, s.doc, s.defaultShown())
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}

// defaultGCPercent is the garbage collector's target unless GOGC says
// otherwise. The service's live heap is a few MiB, so at Go's default of
// 100 the collector runs every few MiB of allocation, which under load is
// many times a second; at 200 it runs half as often, for about 3 MiB more
// resident memory (cmd/loadtest: ~32 MiB under the mixed load).
const defaultGCPercent = 200

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}
