//go:build !linux

package statedir

// syncDir does nothing outside Linux, where vipd does not run as a daemon
// (not every system can fsync a directory).
func syncDir(string) error { return nil }
