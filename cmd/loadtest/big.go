package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// bigNeeds names the long-list users a scenario works on, so that a run
// seeds only those its scenarios need.
type bigNeeds uint8

const (
	need1k  bigNeeds = 1 << iota // 1 000 ordinary tasks
	need10k                      // 10 000 ordinary tasks
	needMax                      // 10 000 tasks of the largest size
)

// Search terms on the user with 10 000 largest tasks. The filler text of
// those tasks is made of syllables that can form none of them, so each term
// matches exactly the tasks seedMaxTask put it in.
const (
	searchRare   = "kumquat" // in 10 descriptions
	searchCommon = "note"    // in every title
	searchShort  = "zq"      // in 100 descriptions; too short for a trigram
)

// list50 asks one of the ordinary users (20 tasks) for a page of 50.
func list50(w *worker) ([]byte, int) {
	w.request("GET", w.pickUser(), "?limit=50")
	return append(w.buf, "\r\n"...), http.StatusOK
}

// listBig asks the user pick returns for its first page of 50: the cost
// that should not grow with the length of the list.
func listBig(pick func(*fixture) *user) func(w *worker) ([]byte, int) {
	return func(w *worker) ([]byte, int) {
		w.request("GET", pick(w.fx), "?limit=50")
		return append(w.buf, "\r\n"...), http.StatusOK
	}
}

// search looks for term in the titles and descriptions of the user with
// 10 000 largest tasks, a page of 50.
func search(term string) func(w *worker) ([]byte, int) {
	return func(w *worker) ([]byte, int) {
		w.request("GET", w.fx.max10k, "?limit=50&q=", term)
		return append(w.buf, "\r\n"...), http.StatusOK
	}
}

// searchStarve measures what searches do to everyone else: eight
// connections (half of them when there are fewer than 16) search the user with 10 000 largest tasks (each term in
// turn, unmeasured) while the others list ordinary users' tasks, whose
// latency is what the scenario reports.
func searchStarve(w *worker) ([]byte, int) {
	if w.id < min(8, w.conns/2) {
		w.unmeasured = true
		w.n++
		return search([]string{searchRare, searchCommon, searchShort}[w.n%3])(w)
	}
	return list(w)
}

// seedBig creates the long-list users the chosen scenarios need, each
// with its tasks created through the API over conns connections.
//
// divide shrinks every list by that factor (the smoke run's 100).
func seedBig(ctx context.Context, fx *fixture, addr string, needs bigNeeds, users []user, conns, divide int) error {
	type plan struct {
		u    **user
		n    int
		body func(int) []byte
	}
	var plans []plan
	if needs&need1k != 0 {
		plans = append(plans, plan{&fx.big1k, 1_000, seedTask})
	}
	if needs&need10k != 0 {
		plans = append(plans, plan{&fx.big10k, 10_000, seedTask})
	}
	if needs&needMax != 0 {
		plans = append(plans, plan{&fx.max10k, 10_000, seedMaxTask})
	}
	for i, p := range plans {
		*p.u = &users[i]
		if err := seedUser(ctx, fx, addr, *p.u, p.n/divide, conns, p.body); err != nil {
			return err
		}
	}
	return nil
}

// seedUser creates n tasks for u, body(j) being the j-th, over conns
// connections. It keeps no ids: the long-list scenarios only read lists.
func seedUser(ctx context.Context, fx *fixture, addr string, u *user, n, conns int, body func(int) []byte) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	next := feed(ctx, n)
	// At most the server's default bound on one user's requests in
	// flight, which bigpages runs with.
	for range min(conns, 8) {
		wg.Go(func() {
			c := newRawConn(addr)
			c.body = new(bytes.Buffer)
			defer c.close()
			w := &worker{fx: fx, buf: make([]byte, 0, 4096)}
			for j := range next {
				w.request("POST", u)
				status, err := c.do(w.body("application/json", body(j)), time.Minute)
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("seeding user %s: POST answered %d: %s", u.id, status, c.body.String())
				}
				if err != nil {
					mu.Lock()
					first = cmp(first, err)
					mu.Unlock()
					for range next { // let the feeder finish
					}
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// seedMaxTask is the j-th of the user's 10 000 largest tasks: a title of
// 200 characters, a description of 1 000 and 20 tags of 50, the limits a
// task may reach. The text is filler that contains none of the search
// terms, except where placed on purpose: searchCommon starts every title,
// searchRare is in one description of a thousand, searchShort in one of a
// hundred.
func seedMaxTask(j int) []byte {
	title := fill(fmt.Sprintf("Note %d: ", j), j, 200)
	lead := ""
	switch {
	case j%1000 == 7:
		lead = "Buy a " + searchRare + " "
	case j%100 == 3:
		lead = "Ask " + searchShort + " "
	}
	desc := fill(lead, j*7+1, 1000)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"title":%q,"description":%q,"priority":"high","tags":[`, title, desc)
	for i := range 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", fill(fmt.Sprintf("tag%02d ", i), j+i, 50))
	}
	b.WriteString(`],"due_date":"2030-06-01T17:00:00Z"}`)
	return b.Bytes()
}

// fill appends filler words to prefix until it is exactly n bytes long
// (all ASCII, so also n characters). The syllables hold none of the letters
// k, n, o, q, t, z, so that no search term can appear by accident.
func fill(prefix string, seed, n int) string {
	syllables := []string{"ba", "de", "fi", "lu", "ma", "re", "si", "ve", "ga", "pe", "hi", "wu", "ca", "sel", "mir", "dab"}
	var b strings.Builder
	b.WriteString(prefix)
	x := uint32(seed)*2654435761 + 1
	for b.Len() < n {
		x = x*1664525 + 1013904223
		for k := range 2 + x>>30 {
			b.WriteString(syllables[(x>>(4*k))&15])
		}
		b.WriteByte(' ')
	}
	s := b.String()[:n]
	return strings.TrimRight(s, " ") + strings.Repeat("e", n-len(strings.TrimRight(s, " ")))
}
