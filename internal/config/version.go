package config

import (
	"fmt"
	"time"
)

// checkVersion applies the rules that tie an instance's keys to its VRRP
// version: the advertisement interval's range (VRRPv3: centiseconds up to
// 40.95s; VRRPv2, RFC 3768: whole seconds 1s..255s), VRRPv2 being IPv4
// only, and auth_pass being VRRPv2's. m holds the instance's keys.
func (d *decoder) checkVersion(in *Instance, m decoded, path string) {
	versionOK := m.ok("version") != nil || !m.has("version")
	if iv := m.ok("advert_interval"); iv != nil && versionOK {
		check := checkAdvertInterval
		if in.Version == 2 {
			check = checkAdvertIntervalV2
		}
		if msg := check(in.AdvertInterval); msg != "" {
			d.errorf(iv, join(path, "advert_interval"), "%s", msg)
		}
	}
	if in.Version != 2 || !versionOK {
		if p := m.ok("auth_pass"); p != nil && versionOK {
			d.errorf(p, join(path, "auth_pass"), "is VRRPv2's simple password and this instance speaks VRRPv3, "+
				"which has no authentication: set version: 2 (keepalived's default), or remove auth_pass")
		}
		return
	}
	if in.IPv6() {
		d.errorf(m.values["version"], join(path, "version"), "VRRPv2 (RFC 3768) is IPv4 only and this instance's VIPs are IPv6: "+
			"use version: 3 (keepalived: vrrp_version 3) for IPv6")
	}
}

// checkAdvertIntervalV2: RFC 3768 §5.3.7 carries Adver Int in whole
// seconds in 8 bits.
func checkAdvertIntervalV2(t time.Duration) string {
	if t < time.Second || t > 255*time.Second || t%time.Second != 0 {
		return fmt.Sprintf("must be whole seconds 1s..255s with version: 2 (VRRPv2 carries seconds), got %s", fmtDuration(t))
	}
	return ""
}

// checkAuthPass: VRRPv2 carries 8 bytes of authentication data; keepalived
// cuts a longer auth_pass to 8, which would hide a typo past the 8th byte.
func checkAuthPass(s string) string {
	if s == "" || len(s) > 8 {
		return fmt.Sprintf("must be 1..8 bytes (VRRPv2 carries 8; keepalived cuts longer ones to 8), got %d", len(s))
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return "must be printable ASCII without spaces"
		}
	}
	return ""
}
