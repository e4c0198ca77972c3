package lab

import (
	"strconv"
	"strings"
)

// labPID parses the owner's pid out of labnet's automatic names
// ("vl-<pid base 36>-<n base 36>-<role>").
func labPID(ns string) (int, bool) {
	rest, ok := strings.CutPrefix(ns, "vl-")
	if !ok {
		return 0, false
	}
	p, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.ParseInt(p, 36, 32)
	return int(pid), err == nil && pid > 0
}
