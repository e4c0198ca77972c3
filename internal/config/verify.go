package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// verify decodes an instance's verify mapping over the defaults in dst. It
// returns the good targets with their nodes, for the family check.
func (d *decoder) verify(n *yaml.Node, path string, dst *Verify) ([]peer, bool) {
	before := len(d.errs)
	var targets []peer
	d.mapping(n, path, "a mapping (targets:, period:, enabled:)", []field{
		{name: "targets", decode: func(d *decoder, v *yaml.Node, path string) bool {
			var ok bool
			targets, ok = d.addrList(v, path, "target")
			for _, t := range targets {
				dst.Targets = append(dst.Targets, t.addr)
			}
			return ok
		}},
		{name: "period", decode: duration(&dst.Period, checkVerifyPeriod)},
		{name: "enabled", decode: boolean(&dst.Enabled)},
	})
	return targets, len(d.errs) == before
}

func checkVerifyPeriod(t time.Duration) string {
	if t != 0 && (t < time.Second || t > time.Hour) {
		return fmt.Sprintf("must be 0s (only after a takeover) or 1s..1h, got %s", fmtDuration(t))
	}
	return ""
}
