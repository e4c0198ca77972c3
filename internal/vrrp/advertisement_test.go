package vrrp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		centis uint16
		want   time.Duration
	}{
		{0, 0},
		{1, 10 * time.Millisecond},
		{50, 500 * time.Millisecond},
		{100, time.Second},
		{123, 1230 * time.Millisecond},
		{4095, 40950 * time.Millisecond},
	} {
		a := Advertisement{MaxAdvertInterval: tc.centis}
		if got := a.Interval(); got != tc.want {
			t.Errorf("Interval(%d cs) = %v, want %v", tc.centis, got, tc.want)
		}
	}
}

func TestIntervalCentis(t *testing.T) {
	for _, tc := range []struct {
		d       time.Duration
		want    uint16
		wantErr bool
	}{
		{10 * time.Millisecond, 1, false},
		{time.Second, 100, false},
		{1230 * time.Millisecond, 123, false},
		{40950 * time.Millisecond, 4095, false},
		{0, 0, true},
		{-time.Second, 0, true},
		{5 * time.Millisecond, 0, true},
		{15 * time.Millisecond, 0, true},
		{time.Second + time.Nanosecond, 0, true},
		{40960 * time.Millisecond, 0, true},
		{time.Hour, 0, true},
	} {
		got, err := IntervalCentis(tc.d)
		if tc.wantErr {
			if err == nil || !errors.Is(err, ErrBadInterval) || !strings.HasPrefix(err.Error(), "vrrp: ") {
				t.Errorf("IntervalCentis(%v) = %d, %v; want an ErrBadInterval error", tc.d, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("IntervalCentis(%v) = %d, %v; want %d", tc.d, got, err, tc.want)
		}
		if back := (&Advertisement{MaxAdvertInterval: got}).Interval(); back != tc.d {
			t.Errorf("Interval(IntervalCentis(%v)) = %v", tc.d, back)
		}
	}
}

func TestMaxAddresses(t *testing.T) {
	for _, tc := range []struct {
		is4  bool
		mtu  int
		want int
	}{
		{true, 1500, 255},
		{true, 1048, 255},  // (1048-28)/4 = 255
		{true, 1047, 254},  // one byte less
		{true, 576, 137},   // (576-28)/4
		{true, 68, 10},     // minimum IPv4 MTU
		{true, 32, 1},      // exactly one
		{true, 31, 0},      // not even one
		{true, 0, 0},       // nonsense
		{false, 1500, 90},  // (1500-48)/16
		{false, 1280, 77},  // minimum IPv6 MTU
		{false, 9000, 255}, // jumbo, capped
		{false, 64, 1},
		{false, 63, 0},
		{false, -1, 0},
	} {
		if got := MaxAddresses(tc.is4, tc.mtu); got != tc.want {
			t.Errorf("MaxAddresses(%v, %d) = %d, want %d", tc.is4, tc.mtu, got, tc.want)
		}
		// The result must really fit.
		if n := MaxAddresses(tc.is4, tc.mtu); n > 0 {
			hdr, size := 40, 16
			if tc.is4 {
				hdr, size = 20, 4
			}
			if l := hdr + HeaderLen + n*size; l > tc.mtu {
				t.Errorf("MaxAddresses(%v, %d) = %d makes a %d byte packet", tc.is4, tc.mtu, n, l)
			}
		}
	}
}

func TestAdvertisementString(t *testing.T) {
	a := &Advertisement{VRID: 51, Priority: 150, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.100", "192.0.2.101")}
	if got, want := a.String(), "vrid=51 prio=150 interval=1s addrs=[192.0.2.100 192.0.2.101]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDropReasonString(t *testing.T) {
	want := map[DropReason]string{
		DropNone:        "none",
		DropTooShort:    "too_short",
		DropVersion:     "version",
		DropType:        "type",
		DropLength:      "length",
		DropChecksum:    "checksum",
		DropInterval:    "interval",
		DropTTL:         "ttl",
		DropUnknownVRID: "unknown_vrid",
		DropFamily:      "family",
		DropNotPeer:     "not_peer",
		DropOwner:       "owner",
		DropOwnPacket:   "own_packet",
		DropMalformedIP: "malformed_ip",

		DropVersionMismatch:  "version_mismatch",
		DropAuth:             "auth",
		DropIntervalMismatch: "interval_mismatch",
	}
	for r, s := range want {
		if got := r.String(); got != s {
			t.Errorf("%d.String() = %q, want %q", r, got, s)
		}
	}
	if got := DropReason(200).String(); got != "DropReason(200)" {
		t.Errorf("DropReason(200).String() = %q", got)
	}

	all := AllDropReasons()
	if len(all) != len(want)-1 {
		t.Fatalf("AllDropReasons has %d reasons, want %d", len(all), len(want)-1)
	}
	seen := map[DropReason]bool{}
	for i, r := range all {
		if r == DropNone || seen[r] || want[r] == "" {
			t.Errorf("AllDropReasons()[%d] = %v: none, repeated or unknown", i, r)
		}
		if i > 0 && r <= all[i-1] {
			t.Errorf("AllDropReasons not in order at %d", i)
		}
		seen[r] = true
	}
}
