package labnet

import "testing"

func TestOwnerPID(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		ok   bool
	}{
		{autoPrefix(1234, 0) + "-client", 1234, true},
		{autoPrefix(4194304, 35) + "-injector", 4194304, true},
		{"vl-ya-0-a", 1234, true},
		{"vl-ya-0", 0, false},     // no role
		{"vl-ya--a", 0, false},    // no lab number
		{"vl--0-a", 0, false},     // no pid
		{"vl-0-0-a", 0, false},    // pid 0
		{"vl-y!-0-a", 0, false},   // not base 36
		{"vt-ya-0-a", 0, false},   // somebody else's
		{"vlab-router", 0, false}, // a caller-chosen prefix
		{"", 0, false},
	}
	for _, tt := range tests {
		pid, ok := ownerPID(tt.name)
		if ok != tt.ok || (ok && pid != tt.pid) {
			t.Errorf("ownerPID(%q) = %d, %v; want %d, %v", tt.name, pid, ok, tt.pid, tt.ok)
		}
	}
}

func TestNewPrefixUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := newPrefix(99)
		if seen[p] {
			t.Fatalf("prefix %q twice", p)
		}
		seen[p] = true
		if pid, ok := ownerPID(nsName(p, "router")); !ok || pid != 99 {
			t.Fatalf("ownerPID(%q) = %d, %v", nsName(p, "router"), pid, ok)
		}
	}
}

func TestCheckRole(t *testing.T) {
	tests := []struct {
		role string
		ok   bool
	}{
		{"a", true},
		{"injector", true},
		{"abcdefghijklm", true}, // 13: "p-" + 13 = 15 bytes
		{"abcdefghijklmn", false},
		{"", false},
		{"In", false},
		{"a-b", false},
	}
	for _, tt := range tests {
		err := checkRole(tt.role)
		if (err == nil) != tt.ok {
			t.Errorf("checkRole(%q) = %v, want ok=%v", tt.role, err, tt.ok)
		}
		if err == nil && len(portName(tt.role)) > 15 {
			t.Errorf("port name %q too long for Linux", portName(tt.role))
		}
	}
}
