package announcetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/announce/announcetest"
	"github.com/vipd/vipd/internal/clock/clocktest"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestRecorder(t *testing.T) {
	c := clocktest.NewClock(t0)
	r := &announcetest.Recorder{Now: c.Now}
	frame := []byte{1, 2, 3}
	if err := r.Send(frame); err != nil {
		t.Fatal(err)
	}
	frame[0] = 9
	boom := errors.New("boom")
	r.SetErr(boom)
	if err := r.Send(frame); !errors.Is(err, boom) {
		t.Errorf("Send = %v, want %v", err, boom)
	}
	sent := r.Sent()
	if len(sent) != 1 || sent[0].Frame[0] != 1 || sent[0].At != t0 {
		t.Errorf("Sent = %+v, want one copy of the first frame at t0", sent)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := r.Wait(ctx, 1); err != nil {
		t.Error(err)
	}
	if err := r.Wait(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait for a frame that never comes: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	for name, f := range map[string][]byte{
		"short":    {1, 2, 3},
		"IPv4":     append(make([]byte, 12), 0x08, 0x00, 0x45, 0, 0, 20),
		"IPv6 UDP": append(append(make([]byte, 12), 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 17, 64), make([]byte, 40)...),
		"ARP op 3": append(append(make([]byte, 12), 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 3), make([]byte, 20)...),
	} {
		if _, err := announcetest.Parse(f); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		}
	}
}
