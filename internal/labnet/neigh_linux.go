package labnet

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RaiseNeighLimits raises the kernel's neighbour table thresholds
// (gc_thresh1/2/3, IPv4 and IPv6) so that n entries fit without garbage
// collection: below gc_thresh1 nothing is collected. Linux keeps one table
// per family for all network namespaces and exposes the thresholds only in
// the initial one, so this is the one host-wide setting labnet changes. It
// only ever raises them (to n+1024, 2n+2048 and 4n+4096 at least) and does
// not restore them. Labs with more than a few hundred VIPs need it; the
// defaults (128/512/1024) hold the rest.
func RaiseNeighLimits(n int) error {
	if n < 0 {
		return fmt.Errorf("labnet: raise neighbour limits: %d entries", n)
	}
	want := []int{n + 1024, 2*n + 2048, 4*n + 4096}
	for _, fam := range []string{"ipv4", "ipv6"} {
		for i, w := range want {
			path := fmt.Sprintf("/proc/sys/net/%s/neigh/default/gc_thresh%d", fam, i+1)
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("labnet: raise neighbour limits (needs the initial network namespace): %w", err)
			}
			cur, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				return fmt.Errorf("labnet: raise neighbour limits: %s: %w", path, err)
			}
			if cur >= w {
				continue
			}
			if err := os.WriteFile(path, []byte(strconv.Itoa(w)), 0o644); err != nil {
				return fmt.Errorf("labnet: raise neighbour limits: %w", err)
			}
		}
	}
	return nil
}
