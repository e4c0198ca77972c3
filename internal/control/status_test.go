package control

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The JSON of Status is the contract of `vipd status --json`.
func TestStatusJSONGolden(t *testing.T) {
	got, err := json.MarshalIndent(sampleStatus(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "status.json", append(got, '\n'))

	var back Status
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sampleStatus()) {
		t.Errorf("JSON round trip changed the status:\n got %+v\nwant %+v", back, sampleStatus())
	}
}

// Empty lists and maps are [] and {}, never null, and a missing last
// transition or master leaves its keys out.
func TestStatusJSONEmpty(t *testing.T) {
	got, err := json.Marshal(Status{Node: "a", Instances: nil})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"instances":[]`; !strings.Contains(string(got), want) {
		t.Errorf("%s lacks %s", got, want)
	}
	got, err = json.Marshal(Status{StartedAt: time.Unix(0, 0).UTC(), Instances: []InstanceStatus{{Name: "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"vips":[]`, `"drops":{}`, `"advert_interval":"0s"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
	for _, absent := range []string{"null", "last_transition", `"master"`, "0001-01-01"} {
		if strings.Contains(string(got), absent) {
			t.Errorf("%s contains %s", got, absent)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		d    Duration
		json string
	}{
		{Duration(100 * time.Millisecond), `"100ms"`},
		{Duration(time.Second), `"1s"`},
		{Duration(90 * time.Second), `"1m30s"`},
		{Duration(1500 * time.Microsecond), `"1.5ms"`},
		{0, `"0s"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.d)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", time.Duration(tt.d), b, err, tt.json)
		}
		var d Duration
		if err := json.Unmarshal([]byte(tt.json), &d); err != nil || d != tt.d {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tt.json, d, err, tt.d)
		}
	}
	for _, bad := range []string{`"100"`, `"fast"`, `100`, `true`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, d)
		}
	}
}

func TestRenderStatusGolden(t *testing.T) {
	now := sampleStatus().StartedAt.Add(3*time.Minute + 12*time.Second)
	tests := []struct {
		name   string
		status Status
		opts   RenderStatusOptions
	}{
		{"status.golden", sampleStatus(), RenderStatusOptions{Now: now}},
		{"status_verbose.golden", sampleStatus(), RenderStatusOptions{Now: now, Verbose: true}},
		{"status_empty.golden", Status{Node: "b", PID: 99}, RenderStatusOptions{Now: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.opts.Render(&buf, tt.status); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}

func TestRenderStatusDefaultsToNow(t *testing.T) {
	s := Status{Node: "a", PID: 1, StartedAt: time.Now().Add(-2 * time.Hour)}
	var buf bytes.Buffer
	if err := RenderStatus(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "node a (pid 1, up 2h0m)") && !strings.HasPrefix(buf.String(), "node a (pid 1, up 1h59m)") {
		t.Errorf("header = %q, want up about 2h", buf.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestRenderStatusWriteError(t *testing.T) {
	if err := RenderStatus(failWriter{}, sampleStatus()); err == nil {
		t.Error("RenderStatus to a failing writer returned nil")
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{12 * time.Second, "12s"},
		{3*time.Minute + 12*time.Second, "3m12s"},
		{time.Hour, "1h0m"},
		{2*time.Hour + 5*time.Minute + 59*time.Second, "2h5m"},
		{3*24*time.Hour + 4*time.Hour + 30*time.Minute, "3d4h"},
	}
	for _, tt := range tests {
		if got := age(tt.d); got != tt.want {
			t.Errorf("age(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestRenderCells(t *testing.T) {
	masters := []struct {
		p    *PeerStatus
		want string
	}{
		{nil, "-"},
		{&PeerStatus{Self: true}, "self"},
		{&PeerStatus{Self: true, Address: "192.0.2.11"}, "self (192.0.2.11)"},
		{&PeerStatus{Address: "2001:db8::2", Priority: 100}, "2001:db8::2 prio 100"},
		{&PeerStatus{Address: "192.0.2.12", MAC: "02:00:00:00:00:12", Priority: 150}, "192.0.2.12 02:00:00:00:00:12 prio 150"},
	}
	for _, tt := range masters {
		if got := master(tt.p); got != tt.want {
			t.Errorf("master(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
	ms100, s1 := Duration(100*time.Millisecond), Duration(time.Second)
	adverts := []struct {
		in   InstanceStatus
		want string
	}{
		{InstanceStatus{State: "BACKUP", AdvertInterval: ms100, MasterAdvertInterval: s1}, "100ms (master 1s)"},
		{InstanceStatus{State: "BACKUP", AdvertInterval: ms100, MasterAdvertInterval: ms100}, "100ms"},
		{InstanceStatus{State: "BACKUP", AdvertInterval: ms100}, "100ms"},
		{InstanceStatus{State: "MASTER", AdvertInterval: ms100, MasterAdvertInterval: s1}, "100ms"},
	}
	for _, tt := range adverts {
		if got := advert(tt.in); got != tt.want {
			t.Errorf("advert(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := vipSummary(nil); got != "-" {
		t.Errorf("vipSummary(nil) = %q", got)
	}
	if got := drops(map[string]uint64{"b": 2, "a": 1, "z": 0}); got != "a=1 b=2" {
		t.Errorf("drops = %q, want only the non-zero ones, sorted", got)
	}
	c := Counters{Transitions: 1, LastTransition: time.Unix(100, 0)}
	if got := counters(InstanceStatus{Name: "x", Preempt: true, Counters: c}, time.Unix(105, 0)); got != "x: adverts sent 0, received 0; transitions 1, last ?→? 5s ago" {
		t.Errorf("counters with unknown states = %q", got)
	}
}

func TestRenderLastReload(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	s := Status{Node: "a", PID: 1, LastReload: &ReloadStatus{Time: now.Add(-90 * time.Second), Trigger: "SIGHUP", Result: ReloadRejected,
		Errors: []string{"/etc/vipd/vipd.yaml:6:11: YAML syntax: '[' is never closed"}}}
	var b strings.Builder
	if err := (RenderStatusOptions{Now: now}).Render(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"last reload: ", "(1m30s ago, SIGHUP): rejected\n", "  /etc/vipd/vipd.yaml:6:11: YAML syntax: '[' is never closed\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}
