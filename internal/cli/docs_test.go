package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestManPages: vipd(8) and one page per command, each with its help.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1796601600") // 2026-12-05
	if err := WriteManPages(dir); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{"vipd.8": "vipd moves virtual IP addresses"}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				pages[strings.ReplaceAll(sub.CommandPath(), " ", "-")+".8"] = sub.Short
				walk(sub)
			}
		}
	}
	walk(newRoot(io.Discard, io.Discard))
	for _, must := range []string{"vipd-run.8", "vipd-status.8", "vipd-reload.8", "vipd-check.8"} {
		if _, ok := pages[must]; !ok {
			t.Errorf("no page %s planned", must)
		}
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
