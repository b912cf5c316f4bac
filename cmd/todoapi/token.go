package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/todoapi/todoapi/auth"
)

// token prints an HS256 token signed with BETTER_AUTH_SECRET, for trying the
// API with curl against a server that shares that secret.
func token(args []string, stdout io.Writer, getenv func(string) string) error {
	fs := newFlags("token", stdout)
	sub := fs.String("sub", "", "user id to put in the token's sub claim (required)")
	email := fs.String("email", "", "email claim")
	name := fs.String("name", "", "name claim")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("token: --sub is required")
	}
	if *ttl <= 0 {
		return errors.New("token: --ttl must be positive")
	}
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if c.AuthSecret == "" {
		return errors.New("token: BETTER_AUTH_SECRET is not set (in the environment or .env); the token is signed with it")
	}
	tok, err := auth.Mint(c.AuthSecret, auth.MintClaims{
		Subject: *sub, Email: *email, Name: *name,
		Issuer: c.Issuer, Audience: c.Audience, TTL: *ttl,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
