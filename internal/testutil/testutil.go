// Package testutil holds what vipd's tests share: the root check for
// integration tests and, on Linux, the network-namespace scaffolding they
// run in (NewNS, AddVeth, InNS, Run). Only tests import it.
package testutil

import (
	"os"
	"testing"
)

// RequireRoot skips t when the test does not run as root, with a message
// that says why. Under CI (CI=true), where the tests run as root by design, a
// missing privilege fails the test instead: an integration test that
// silently skipped would prove nothing.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("integration test needs root (network namespaces, raw sockets); CI must run as root")
	}
	t.Skip("integration test needs root: it creates network namespaces; run 'sudo go test ./...'")
}
