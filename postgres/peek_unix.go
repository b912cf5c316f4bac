//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package postgres

import "syscall"

// peek reports whether the socket fd has data or an end of stream to read,
// leaving it unread.
func peek(fd uintptr) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
		return false // nothing there: the healthy case
	case err != nil:
		return true // reset or otherwise broken
	}
	return n >= 0 // data, or 0 for the peer's end of stream
}
