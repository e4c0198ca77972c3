package statedir_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vipd/vipd/internal/statedir"
)

// oldMaintenance is how internal/daemon wrote maintenance.json before this
// package: json.Marshal of a struct with these two exported fields.
type oldMaintenance struct {
	All       bool     `json:"all"`
	Instances []string `json:"instances"`
}

func TestMaintenanceMissing(t *testing.T) {
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "not", "there")} {
		m, err := statedir.LoadMaintenance(dir)
		if err != nil || m.All || len(m.Instances) != 0 {
			t.Errorf("LoadMaintenance(%s) = %+v, %v; want none, nil", dir, m, err)
		}
	}
}

// The file format is the one vipd has always written: state written by an
// older vipd loads, and what SaveMaintenance writes is byte for byte what
// the older vipd wrote.
func TestMaintenanceOldFormat(t *testing.T) {
	for _, old := range []oldMaintenance{
		{},
		{All: true},
		{Instances: []string{"web"}},
		{All: true, Instances: []string{"web", "db"}},
		{Instances: []string{}},
	} {
		oldBytes, err := json.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "maintenance.json")
		if err := os.WriteFile(path, oldBytes, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := statedir.LoadMaintenance(dir)
		if err != nil {
			t.Fatalf("%s: %v", oldBytes, err)
		}
		if m.All != old.All || !reflect.DeepEqual(m.Instances, old.Instances) {
			t.Errorf("%s: loaded %+v", oldBytes, m)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := statedir.SaveMaintenance(dir, m); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(oldBytes) {
			t.Errorf("saved %s, the old format is %s", b, oldBytes)
		}
		if got := dirNames(t, dir); !reflect.DeepEqual(got, []string{"maintenance.json"}) {
			t.Errorf("files after a save: %v, want only maintenance.json", got)
		}
	}
}

func TestMaintenanceRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, m := range []statedir.Maintenance{
		{All: true},
		{Instances: []string{"web", "db"}},
		{},
	} {
		if err := statedir.SaveMaintenance(dir, m); err != nil {
			t.Fatal(err)
		}
		got, err := statedir.LoadMaintenance(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("saved %+v, loaded %+v", m, got)
		}
	}
}

func TestMaintenanceOn(t *testing.T) {
	for _, tc := range []struct {
		m    statedir.Maintenance
		name string
		want bool
	}{
		{statedir.Maintenance{}, "web", false},
		{statedir.Maintenance{All: true}, "web", true},
		{statedir.Maintenance{Instances: []string{"db", "web"}}, "web", true},
		{statedir.Maintenance{Instances: []string{"db"}}, "web", false},
	} {
		if got := tc.m.On(tc.name); got != tc.want {
			t.Errorf("%+v.On(%q) = %v, want %v", tc.m, tc.name, got, tc.want)
		}
	}
}

func TestMaintenanceCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"empty":         "",
		"truncated":     `{"all":tr`,
		"null":          `null`,
		"array":         `["web"]`,
		"wrong type":    `{"all":"yes"}`,
		"garbage after": `{"all":true} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "maintenance.json")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := statedir.LoadMaintenance(dir)
			var ce *statedir.CorruptError
			if !errors.As(err, &ce) || ce.Path != path {
				t.Fatalf("LoadMaintenance() = %+v, %v; want a *CorruptError for %s", m, err, path)
			}
			t.Log(err)
		})
	}
}

// Unreadable is an error, never "no maintenance". (A directory in the way
// here; permissions are tested by TestIntegrationUnprivileged.)
func TestMaintenanceUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "maintenance.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := statedir.LoadMaintenance(dir); err == nil {
		t.Fatal("LoadMaintenance() of an unreadable file succeeded")
	} else {
		t.Log(err)
	}
	if err := statedir.SaveMaintenance(dir, statedir.Maintenance{All: true}); err == nil {
		t.Fatal("SaveMaintenance() over a directory succeeded")
	} else {
		t.Log(err)
	}
	if got := dirNames(t, dir); !reflect.DeepEqual(got, []string{"maintenance.json"}) {
		t.Errorf("files after a failed save: %v, want only maintenance.json", got)
	}
}
