//go:build !linux

package sdnotify

// monotonicUsec reports false: systemd runs on Linux only, so RELOADING=1
// goes without MONOTONIC_USEC elsewhere.
func monotonicUsec() (uint64, bool) { return 0, false }
