package fsm

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// TestIntervalsV2: RFC 3768 §6.1: Skew_Time = (256 − Priority) / 256 s,
// Master_Down_Interval = 3 × Advertisement_Interval + Skew_Time.
func TestIntervalsV2(t *testing.T) {
	for _, tc := range []struct {
		prio     uint8
		interval time.Duration
		skew     time.Duration
		down     time.Duration
	}{
		{prio: 100, interval: time.Second, skew: 609375 * time.Microsecond, down: 3609375 * time.Microsecond},
		// With 3 s the skew stays (256-100)/256 s; VRRPv3 would make it 3x.
		{prio: 100, interval: 3 * time.Second, skew: 609375 * time.Microsecond, down: 9609375 * time.Microsecond},
		{prio: 254, interval: 255 * time.Second, skew: 2 * time.Second / 256, down: 765*time.Second + 2*time.Second/256},
		{prio: 1, interval: 2 * time.Second, skew: 255 * time.Second / 256, down: 6*time.Second + 255*time.Second/256},
	} {
		m := New(Config{Priority: tc.prio, AdvertInterval: tc.interval, V2: true})
		if got := m.SkewTime(); got != tc.skew {
			t.Errorf("prio %d interval %v: skew %v, want %v", tc.prio, tc.interval, got, tc.skew)
		}
		if got := m.MasterDownInterval(); got != tc.down {
			t.Errorf("prio %d interval %v: master down %v, want %v", tc.prio, tc.interval, got, tc.down)
		}
	}
}

// TestV2DoesNotLearnInterval: a VRRPv2 backup keeps its own
// Advertisement_Interval for Master_Down_Interval whatever an advert says,
// and takes over after a resigning master's Skew_Time in seconds.
func TestV2DoesNotLearnInterval(t *testing.T) {
	c := Config{Priority: 100, AdvertInterval: 2 * time.Second, Preempt: true, PrimaryAddr: netip.MustParseAddr("192.0.2.12"), V2: true}
	m := New(c)
	m.Step(t0, Startup{})
	master := netip.MustParseAddr("192.0.2.11")
	m.Step(t0.Add(time.Second), Advert{From: master, Priority: 200, Interval: 5 * time.Second})
	if got := m.MasterAdverInterval(); got != 2*time.Second {
		t.Fatalf("Master_Adver_Interval %v, want the configured 2s", got)
	}
	dl, _ := m.NextDeadline()
	if want := t0.Add(time.Second + 6*time.Second + 609375*time.Microsecond); dl != want {
		t.Fatalf("Master_Down_Timer at %v, want %v", dl, want)
	}
	at := t0.Add(2 * time.Second)
	m.Step(at, Advert{From: master, Priority: 0, Interval: 2 * time.Second})
	dl, _ = m.NextDeadline()
	if want := at.Add(609375 * time.Microsecond); dl != want {
		t.Fatalf("after priority 0: deadline %v, want %v (Skew_Time)", dl, want)
	}
	acts := m.Step(dl, Tick{})
	want := []Action{Transition{From: Backup, To: Master, Reason: ReasonMasterResigned}, SendAdvert{Priority: 100}, TakeOver{}}
	if !reflect.DeepEqual(acts[:3], want) {
		t.Fatalf("takeover: %#v", acts)
	}
}
