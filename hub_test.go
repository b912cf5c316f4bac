package todoapi_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/todoapi/todoapi"
)

// pending reports whether a wake-up is waiting on c, consuming it.
func pending(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestHubWakesOnlyTheUsersSubscribers(t *testing.T) {
	h := todoapi.NewHub()
	a1, cancelA1 := h.Subscribe("alice")
	a2, cancelA2 := h.Subscribe("alice")
	b, cancelB := h.Subscribe("bob")
	defer cancelA1()
	defer cancelA2()
	defer cancelB()

	h.Publish("alice")
	if !pending(a1) || !pending(a2) {
		t.Fatal("a publish for alice did not wake both of alice's subscribers")
	}
	if pending(b) {
		t.Fatal("a publish for alice woke bob")
	}
	h.Publish("carol") // nobody follows carol: nothing happens, nothing blocks
	if pending(a1) || pending(b) {
		t.Fatal("a publish for carol woke someone else")
	}
}

func TestHubMergesPublishesAndNeverBlocks(t *testing.T) {
	h := todoapi.NewHub()
	wake, cancel := h.Subscribe("alice")
	defer cancel()
	// Nobody reads wake while these run: if Publish blocked on a full
	// channel, the test would hang here.
	for range 1000 {
		h.Publish("alice")
	}
	if !pending(wake) {
		t.Fatal("no wake-up after 1000 publishes")
	}
	if pending(wake) {
		t.Fatal("1000 publishes left more than one wake-up: they must merge")
	}
	h.Publish("alice")
	if !pending(wake) {
		t.Fatal("a publish after the subscriber read its wake-up was lost")
	}
}

func TestHubPublishAllWakesEveryone(t *testing.T) {
	h := todoapi.NewHub()
	a, cancelA := h.Subscribe("alice")
	b, cancelB := h.Subscribe("bob")
	defer cancelA()
	defer cancelB()
	h.PublishAll()
	if !pending(a) || !pending(b) {
		t.Fatal("PublishAll missed a subscriber")
	}
}

func TestHubCancelForgetsTheSubscriber(t *testing.T) {
	h := todoapi.NewHub()
	wake, cancel := h.Subscribe("alice")
	_, cancel2 := h.Subscribe("alice")
	if n := h.Subscribers(); n != 2 {
		t.Fatalf("Subscribers() = %d, want 2", n)
	}
	cancel()
	cancel() // a second call is harmless
	h.Publish("alice")
	if pending(wake) {
		t.Fatal("a cancelled subscription was woken")
	}
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("Subscribers() = %d after one cancel, want 1", n)
	}
	cancel2()
	// A subscription made after the user's last one left still works, and
	// a late cancel of an old one does not remove it.
	wake3, cancel3 := h.Subscribe("alice")
	defer cancel3()
	cancel2()
	h.Publish("alice")
	if !pending(wake3) {
		t.Fatal("a new subscription was lost to the cancel of an old one")
	}
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("Subscribers() = %d, want 1", n)
	}
}

// TestHubConcurrent runs subscribers, cancels and publishes at once; under
// -race it shows the hub is safe, and every subscriber that stays sees a
// publish made after it subscribed.
func TestHubConcurrent(t *testing.T) {
	h := todoapi.NewHub()
	var wg sync.WaitGroup
	for i := range 50 {
		user := fmt.Sprint("user-", i%5)
		wg.Go(func() {
			for range 100 {
				_, cancel := h.Subscribe(user)
				h.Publish(user)
				cancel()
			}
			wake, cancel := h.Subscribe(user)
			defer cancel()
			h.Publish(user)
			if !pending(wake) {
				t.Error("a subscriber missed a publish made after it subscribed")
			}
		})
		wg.Go(func() {
			for range 100 {
				h.Publish(user)
				h.PublishAll()
			}
		})
	}
	wg.Wait()
	if n := h.Subscribers(); n != 0 {
		t.Fatalf("Subscribers() = %d after every subscription ended, want 0", n)
	}
}

func TestHubFollowed(t *testing.T) {
	h := todoapi.NewHub()
	if pending(h.Followed()) {
		t.Fatal("Followed signalled before any subscription")
	}
	_, cancel1 := h.Subscribe("alice")
	_, cancel2 := h.Subscribe("bob")
	if !pending(h.Followed()) {
		t.Fatal("the first subscription did not signal Followed")
	}
	if pending(h.Followed()) {
		t.Fatal("a second subscription signalled Followed again")
	}
	cancel1()
	cancel2()
	if n := h.Subscribers(); n != 0 {
		t.Fatalf("Subscribers() = %d, want 0", n)
	}
	_, cancel3 := h.Subscribe("carol")
	defer cancel3()
	if !pending(h.Followed()) {
		t.Fatal("a subscription after the last one ended did not signal Followed")
	}
}
