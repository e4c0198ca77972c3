package statedir

import "time"

// SetBootID makes the ledger see id as this boot's id until restore.
func SetBootID(id string) (restore func()) {
	old := bootID
	bootID = func() string { return id }
	return func() { bootID = old }
}

// SetBootTime makes the ledger see t as the time this boot began until
// restore.
func SetBootTime(t time.Time) (restore func()) {
	old := bootTime
	bootTime = func() time.Time { return t }
	return func() { bootTime = old }
}

// BootTime is this boot's start as the ledger reads it.
func BootTime() time.Time { return bootTime() }
