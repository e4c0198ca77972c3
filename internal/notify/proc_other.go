//go:build !linux

package notify

import "os/exec"

// ownGroup does nothing here: the timeout kills the shell only.
func ownGroup(*exec.Cmd) {}

// killLeftovers does nothing here.
func killLeftovers(*exec.Cmd) {}
