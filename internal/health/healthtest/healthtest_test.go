package healthtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

func TestProber(t *testing.T) {
	p := NewProber()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	boom := errors.New("boom")
	errc := make(chan error, 1)
	go func() { errc <- p.Func()(ctx, config.Check{Name: "a"}) }()
	call, err := p.Next(ctx)
	if err != nil || call.Check.Name != "a" {
		t.Fatalf("Next = %+v, %v", call, err)
	}
	call.Reply(boom)
	if err := <-errc; err != boom {
		t.Errorf("run returned %v", err)
	}

	// A run whose context ends unanswered returns the context's error.
	rctx, rcancel := context.WithCancel(ctx)
	go func() { errc <- p.Func()(rctx, config.Check{Name: "b"}) }()
	if _, err := p.Next(ctx); err != nil {
		t.Fatal(err)
	}
	rcancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run returned %v", err)
	}
}
