//go:build !linux

package lab

import "io"

// IsTerminal reports false: the progress display writes plain lines.
func IsTerminal(w io.Writer) bool { return false }
