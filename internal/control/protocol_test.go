package control

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleStatus() Status {
	t0 := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	return Status{
		Node:       "a",
		PID:        1234,
		Version:    "v0.1.0",
		StartedAt:  t0,
		Goroutines: 17,
		OpenFDs:    23,
		Instances: []InstanceStatus{
			{
				Name: "web", Interface: "eth0", VRID: 42, Family: "ipv4", State: "MASTER",
				Priority: 150, EffectivePriority: 150,
				AdvertInterval: Duration(100 * time.Millisecond), MasterAdvertInterval: Duration(100 * time.Millisecond),
				Preempt: true,
				Master:  &PeerStatus{Address: "192.0.2.11", MAC: "02:00:00:00:00:11", Priority: 150, Self: true},
				VIPs: []VIPStatus{
					{Address: "192.0.2.100/32", Held: true},
					{Address: "192.0.2.101/32", Held: true},
				},
				Counters: Counters{
					AdvertsSent: 1890, AdvertsReceived: 3,
					Drops:          map[string]uint64{"bad_ttl": 0},
					Transitions:    2,
					LastTransition: t0.Add(3 * time.Minute), LastTransitionFrom: "BACKUP", LastTransitionTo: "MASTER",
					LastTransitionReason: "master_down_timer",
				},
			},
			{
				Name: "api", Interface: "eth0", VRID: 43, Family: "ipv4", State: "BACKUP",
				Priority: 100, EffectivePriority: 90,
				AdvertInterval: Duration(100 * time.Millisecond), MasterAdvertInterval: Duration(time.Second),
				Preempt: false,
				Master:  &PeerStatus{Address: "192.0.2.12", MAC: "02:00:00:00:00:12", Priority: 150},
				VIPs: []VIPStatus{
					{Address: "192.0.2.110/32"},
					{Address: "192.0.2.111/32"},
				},
				Counters: Counters{
					AdvertsReceived: 1912,
					Drops:           map[string]uint64{"wrong_vrid": 1, "bad_ttl": 3, "auth": 0},
					Transitions:     1,
					LastTransition:  t0.Add(2 * time.Second), LastTransitionFrom: "INIT", LastTransitionTo: "BACKUP",
					LastTransitionReason: "startup",
					AddressMismatch:      2,
				},
			},
			{
				Name: "db6", Interface: "eth1", VRID: 7, Family: "ipv6", State: "FAULT",
				Priority: 200, EffectivePriority: 200,
				AdvertInterval: Duration(time.Second),
				Preempt:        true,
				VIPs:           []VIPStatus{{Address: "2001:db8::7/128"}},
				Counters:       Counters{Drops: map[string]uint64{}},
			},
		},
	}
}

func TestStatusRoundTrip(t *testing.T) {
	want := sampleStatus()
	path := startServer(t, &Server{Handler: echoStatus(want)})

	resp, err := Call(context.Background(), path, Request{Command: CommandStatus})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.OK {
		t.Fatalf("status failed: %s", resp.Error)
	}
	var got Status
	if err := resp.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestRequestArgsRoundTrip(t *testing.T) {
	type args struct {
		Verbose bool `json:"verbose"`
	}
	m := NewMux()
	m.HandleFunc("echo", func(ctx context.Context, req Request, w ResponseWriter) {
		a := args{}
		if err := req.DecodeArgs(&a); err != nil {
			_ = w.Write(ErrorResponse(err))
			return
		}
		_ = Reply(w, a)
	})
	path := startServer(t, &Server{Handler: m})

	for _, in := range []args{{Verbose: true}, {Verbose: false}} {
		req, err := NewRequest("echo", in)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := Call(context.Background(), path, req)
		if err != nil {
			t.Fatal(err)
		}
		var out args
		if err := resp.Decode(&out); err != nil {
			t.Fatal(err)
		}
		if out != in {
			t.Errorf("echo(%+v) = %+v", in, out)
		}
	}
	resp, err := Call(context.Background(), path, Request{Command: "echo", Args: json.RawMessage(`{"verbose":"yes"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Err(); err == nil || !strings.Contains(err.Error(), "control: decode echo args") {
		t.Errorf("bad args error = %v", err)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"command":"status"}`, `{"command":"x","args":{"a":1}}`, `null`, ``, `{`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := parseRequest(line)
		if err != nil {
			return
		}
		if req.Command == "" {
			t.Fatalf("parseRequest(%q) accepted a request without a command", line)
		}
		// What was accepted survives an encode/parse round trip.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal %+v: %v", req, err)
		}
		again, err := parseRequest(b)
		if err != nil || again.Command != req.Command {
			t.Fatalf("round trip of %q: %+v, %v", line, again, err)
		}
	})
}
