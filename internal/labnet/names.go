package labnet

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// autoPrefixTag starts every automatically chosen prefix. CleanupStale only
// ever looks at namespaces whose names start with it.
const autoPrefixTag = "vl-"

// maxRoleLen bounds host roles so that the switch-side port name, "p-" + role,
// fits Linux's 15-byte interface names.
const maxRoleLen = 13

var prefixSeq atomic.Uint64

// newPrefix returns a prefix unique within this process: "vl-<pid>-<n>", both
// numbers in base 36.
func newPrefix(pid int) string {
	n := prefixSeq.Add(1) - 1
	return autoPrefix(pid, n)
}

func autoPrefix(pid int, n uint64) string {
	return autoPrefixTag + strconv.FormatInt(int64(pid), 36) + "-" + strconv.FormatUint(n, 36)
}

// ownerPID returns the pid encoded in an automatically named namespace, or
// false when the name was not made by newPrefix.
func ownerPID(nsName string) (int, bool) {
	rest, ok := strings.CutPrefix(nsName, autoPrefixTag)
	if !ok {
		return 0, false
	}
	parts := strings.SplitN(rest, "-", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return 0, false
	}
	pid, err := strconv.ParseInt(parts[0], 36, 32)
	if err != nil || pid <= 0 {
		return 0, false
	}
	if _, err := strconv.ParseUint(parts[1], 36, 64); err != nil {
		return 0, false
	}
	return int(pid), true
}

// nsName is the namespace name of a role in a lab.
func nsName(prefix, role string) string { return prefix + "-" + role }

// portName is the switch-side interface of a LAN host's veth pair.
func portName(role string) string { return "p-" + role }

// checkRole reports whether role is usable as a host name: lower-case letters
// and digits, at most maxRoleLen bytes.
func checkRole(role string) error {
	if role == "" || len(role) > maxRoleLen {
		return fmt.Errorf("labnet: host name %q: want 1 to %d characters", role, maxRoleLen)
	}
	for _, c := range role {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("labnet: host name %q: only a-z and 0-9 allowed", role)
		}
	}
	return nil
}

// checkPrefix reports whether a caller-chosen prefix is usable.
func checkPrefix(p string) error {
	if p == "" || len(p) > 40 {
		return fmt.Errorf("labnet: prefix %q: want 1 to 40 characters", p)
	}
	for _, c := range p {
		ok := c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("labnet: prefix %q: character %q not allowed", p, c)
		}
	}
	return nil
}
