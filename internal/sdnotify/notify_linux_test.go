package sdnotify

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// TestNotifyAbstract sends to an abstract socket ('@' in $NOTIFY_SOCKET),
// as systemd uses for user managers and containers.
func TestNotifyAbstract(t *testing.T) {
	name := fmt.Sprintf("@vipd-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	recv := listen(t, name)
	t.Setenv("NOTIFY_SOCKET", name)
	if sent, err := Ready(); !sent || err != nil {
		t.Fatalf("Ready = %v, %v; want true, nil", sent, err)
	}
	if got := recv(); got != "READY=1" {
		t.Errorf("manager got %q, want READY=1", got)
	}
}
