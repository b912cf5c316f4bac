package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection that sends prebuilt request
// bytes and reads just enough of each response to know its status and where
// it ends. net/http's client costs several times more CPU per request, and
// on a two-core machine the load generator shares the cores with the server
// and the database: every cycle it saves is one the server can use.
type rawConn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	// body, when not nil, receives the response body (for the seeding
	// step, which needs the created tasks' ids).
	body *bytes.Buffer
}

func newRawConn(addr string) *rawConn { return &rawConn{addr: addr} }

func (c *rawConn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// do sends req (a whole HTTP/1.1 request) and returns the response status.
// On any error the connection is closed; the next call opens a new one.
func (c *rawConn) do(req []byte, timeout time.Duration) (int, error) {
	if c.c == nil {
		conn, err := net.DialTimeout("tcp", c.addr, timeout)
		if err != nil {
			return 0, err
		}
		c.c = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 64<<10)
		} else {
			c.br.Reset(conn)
		}
	}
	_ = c.c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.c.Write(req); err != nil {
		c.close()
		return 0, err
	}
	status, keep, err := c.readResponse()
	if err != nil {
		c.close()
		return 0, err
	}
	if !keep {
		c.close()
	}
	return status, nil
}

var errBadResponse = errors.New("malformed HTTP response")

func (c *rawConn) readResponse() (status int, keepAlive bool, err error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, errBadResponse
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, errBadResponse
	}
	length, chunked, keepAlive := -1, false, true
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, errBadResponse
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, errBadResponse
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			keepAlive = !asciiEqualFold(value, "close")
		}
	}
	if c.body != nil {
		c.body.Reset()
	}
	switch {
	case status == 204 || status == 304 || status < 200:
	case chunked:
		if err := c.readChunked(); err != nil {
			return 0, false, err
		}
	case length >= 0:
		if err := c.readN(length); err != nil {
			return 0, false, err
		}
	default:
		return 0, false, fmt.Errorf("response %d without a length", status)
	}
	return status, keepAlive, nil
}

func (c *rawConn) readN(n int) error {
	if c.body != nil {
		_, err := io.CopyN(c.body, c.br, int64(n))
		return err
	}
	_, err := c.br.Discard(n)
	return err
}

func (c *rawConn) readChunked() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		sizeText, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		size, err := strconv.ParseInt(string(sizeText), 16, 32)
		if err != nil || size < 0 {
			return errBadResponse
		}
		if size == 0 {
			for { // trailers, then the empty line
				line, err := c.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(line) <= 2 {
					return nil
				}
			}
		}
		if err := c.readN(int(size)); err != nil {
			return err
		}
		if _, err := c.br.Discard(2); err != nil { // CRLF after the data
			return err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
