package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPages: vipd(8) and one page per command, each with its help.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1796601600") // 2026-12-05
	if err := WriteManPages(dir); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{"vipd.8": "vipd moves virtual IP addresses"}
	for _, c := range newRoot(io.Discard, io.Discard).Commands() {
		pages["vipd-"+c.Name()+".8"] = c.Short
	}
	for name, want := range pages {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		s := string(b)
		if !strings.Contains(s, `.TH "VIPD" "8" "Dec 2026"`) || !strings.Contains(s, want) {
			t.Errorf("%s lacks its header or %q:\n%.300s", name, want, s)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != len(pages) {
		t.Errorf("%d pages, want %d", len(ents), len(pages))
	}
}

func TestCompletions(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCompletions(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"vipd.bash": "complete -o default -F __start_vipd vipd", "_vipd": "#compdef vipd", "vipd.fish": "complete -c vipd"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, lacks %q", name, err, want)
		}
	}
}
