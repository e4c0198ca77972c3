package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// WriteManPages writes vipd(8) and one page per command, vipd-run(8) and
// so on, generated from the commands' help, into dir.
func WriteManPages(dir string) error {
	root := newRoot(io.Discard, io.Discard)
	root.DisableAutoGenTag = true // reproducible: no date in the pages
	header := &doc.GenManHeader{
		Title:   "VIPD",
		Section: "8",
		Source:  "vipd " + version(),
		Manual:  "System Administration",
	}
	// Reproducible builds set the date of the pages.
	if sde := os.Getenv("SOURCE_DATE_EPOCH"); sde != "" {
		sec, err := strconv.ParseInt(sde, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", sde, err)
		}
		t := time.Unix(sec, 0).UTC()
		header.Date = &t
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	return nil
}

// WriteCompletions writes the bash, zsh and fish completion scripts into
// dir as vipd.bash, _vipd and vipd.fish.
func WriteCompletions(dir string) error {
	root := newRoot(io.Discard, io.Discard)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, gen := range map[string]func(*cobra.Command, string) error{
		"vipd.bash": func(c *cobra.Command, f string) error { return c.GenBashCompletionFileV2(f, true) },
		"_vipd":     (*cobra.Command).GenZshCompletionFile,
		"vipd.fish": func(c *cobra.Command, f string) error { return c.GenFishCompletionFile(f, true) },
	} {
		if err := gen(root, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("completion %s: %w", name, err)
		}
	}
	return nil
}
