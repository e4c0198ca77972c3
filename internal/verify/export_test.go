package verify

// SetIdleHook makes v call f whenever its goroutine is about to block with
// no event queued, so that a test on a fake clock knows when to advance it.
// Call it before Start.
func SetIdleHook(v *Verifier, f func()) { v.idle = f }
