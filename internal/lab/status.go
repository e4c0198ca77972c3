package lab

import (
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// vipReport is what B's vipd says about a VIP.
type vipReport struct {
	FixedBy      string // the remediation step that made the target follow
	Verification string // verified, stale, unverifiable, unknown
}

// fromStatus reads, from the JSON of `vipd status --json`, per VIP its
// verification state and the remediation step that fixed it: the
// "verification" string of the VIP's object, and a non-empty "fixed_by"
// string in it or anywhere below it (per verification target). The walk is
// deliberately loose so that it keeps working as the status grows; VIPs
// with neither are left out.
func fromStatus(raw []byte) map[netip.Addr]vipReport {
	var st struct {
		Instances []struct {
			VIPs []map[string]any `json:"vips"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil
	}
	out := map[netip.Addr]vipReport{}
	for _, in := range st.Instances {
		for _, v := range in.VIPs {
			s, _ := v["address"].(string)
			a, ok := parseAddrOrPrefix(s)
			if !ok {
				continue
			}
			ver, _ := v["verification"].(string)
			if r := (vipReport{FixedBy: findString(v, "fixed_by"), Verification: ver}); r != (vipReport{}) {
				out[a] = r
			}
		}
	}
	return out
}

func parseAddrOrPrefix(s string) (netip.Addr, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Addr().Unmap(), err == nil
	}
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err == nil
}

// findString returns the first non-empty string under key in v, depth
// first.
func findString(v any, key string) string {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v[key].(string); ok && s != "" {
			return s
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if s := findString(v[k], key); s != "" {
				return s
			}
		}
	case []any:
		for _, c := range v {
			if s := findString(c, key); s != "" {
				return s
			}
		}
	}
	return ""
}
