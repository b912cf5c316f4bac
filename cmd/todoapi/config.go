package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// config is everything todoapi reads from its environment, in one place.
type config struct {
	DatabaseURL     string
	DBMaxConns      int32
	AuthSecret      string
	Issuer          string
	Audience        string
	JWTLeeway       time.Duration
	Host            string
	Port            int
	LogLevel        slog.Level
	LogFormat       string
	Production      bool
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
}

// settings documents every variable for --help and the README, with its
// default.
var settings = []struct{ name, def, doc string }{
	{"DATABASE_URL", "sqlite:todo.db", "postgres://… or postgresql://… (Neon URLs as printed), or sqlite:PATH / file:PATH"},
	{"DB_MAX_CONNS", "10", "PostgreSQL connection pool size"},
	{"BETTER_AUTH_SECRET", "", "shared secret; HS256 tokens signed with it are accepted (unset: development mode)"},
	{"JWT_ISSUER", "", "required iss claim, when set"},
	{"JWT_AUDIENCE", "", "required aud claim, when set"},
	{"JWT_LEEWAY", "30s", "clock skew allowed when checking exp, nbf and iat"},
	{"HOST", "127.0.0.1", "listen address"},
	{"PORT", "8000", "listen port"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"LOG_FORMAT", "text on a terminal, else json", "text or json"},
	{"APP_ENV", "development", "production refuses to start without auth configuration"},
	{"MAX_BODY_BYTES", "65536", "largest request body accepted"},
	{"SHUTDOWN_TIMEOUT", "15s", "how long in-flight requests may take to finish on SIGTERM"},
}

// loadConfig reads .env from the working directory when present (the real
// environment wins over it) and then the environment. It reports every bad
// value at once.
func loadConfig(getenv func(string) string) (config, error) {
	if err := godotenv.Load(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return config{}, fmt.Errorf("read .env: %w", err)
	}
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var bad []string
	intVar := func(name string, def, min, max int64) int64 {
		v, err := strconv.ParseInt(env(name, strconv.FormatInt(def, 10)), 10, 64)
		if err != nil || v < min || v > max {
			bad = append(bad, fmt.Sprintf("%s must be a whole number from %d to %d", name, min, max))
		}
		return v
	}
	durationVar := func(name string, def time.Duration) time.Duration {
		v, err := time.ParseDuration(env(name, def.String()))
		if err != nil || v < 0 {
			bad = append(bad, fmt.Sprintf("%s must be a duration such as 30s or 2m", name))
		}
		return v
	}

	c := config{
		DatabaseURL:     env("DATABASE_URL", "sqlite:todo.db"),
		DBMaxConns:      int32(intVar("DB_MAX_CONNS", 10, 1, 10_000)),
		AuthSecret:      getenv("BETTER_AUTH_SECRET"), // the exact bytes are the key: no trimming
		Issuer:          env("JWT_ISSUER", ""),
		Audience:        env("JWT_AUDIENCE", ""),
		JWTLeeway:       durationVar("JWT_LEEWAY", 30*time.Second),
		Host:            env("HOST", "127.0.0.1"),
		Port:            int(intVar("PORT", 8000, 0, 65535)),
		LogFormat:       strings.ToLower(env("LOG_FORMAT", "")),
		MaxBodyBytes:    intVar("MAX_BODY_BYTES", 64<<10, 1, 1<<30),
		ShutdownTimeout: durationVar("SHUTDOWN_TIMEOUT", 15*time.Second),
	}
	if err := c.LogLevel.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		bad = append(bad, "LOG_LEVEL must be debug, info, warn or error")
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		bad = append(bad, "LOG_FORMAT must be text or json")
	}
	c.Production = strings.EqualFold(env("APP_ENV", "development"), "production")
	if len(bad) > 0 {
		return c, errors.New(strings.Join(bad, "; "))
	}
	return c, nil
}

// newLogger writes text to a terminal and JSON otherwise, unless LOG_FORMAT
// says which.
func (c config) newLogger() *slog.Logger {
	format := c.LogFormat
	if format == "" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
