package pgtest

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Proxy relays TCP connections to a database, imitating Neon's proxy in
// front of a compute that scales to zero: Hold makes it accept new
// connections and keep them waiting, as while a compute wakes up, until
// Release; CutAll closes every open connection, as when a compute is
// suspended.
type Proxy struct {
	Port int

	target string
	ln     net.Listener

	mu    sync.Mutex
	gate  chan struct{} // closed while connections may pass
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartProxy listens on a free port of 127.0.0.1 and relays to target
// (host:port) until t ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{
		Port:   ln.Addr().(*net.TCPAddr).Port,
		target: target,
		ln:     ln,
		gate:   open,
		conns:  map[net.Conn]struct{}{},
	}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.Release()
		p.CutAll()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

// Hold keeps connections accepted from now on waiting, unanswered, until
// Release.
func (p *Proxy) Hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default: // already holding
	}
}

// Release lets held and new connections through.
func (p *Proxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// CutAll closes every connection open through the proxy, both ways.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[c] = struct{}{}
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(client)
		p.mu.Lock()
		gate := p.gate
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer client.Close()
			select {
			case <-gate:
			case <-time.After(time.Minute):
				return
			}
			server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				return // the database is down: the client sees the connection close
			}
			defer server.Close()
			p.track(server)
			done := make(chan struct{}, 2)
			go func() { io.Copy(server, client); server.Close(); done <- struct{}{} }()
			go func() { io.Copy(client, server); client.Close(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}
