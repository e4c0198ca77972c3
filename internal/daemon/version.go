package daemon

import (
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/vrrp"
)

// dropLogEvery bounds the log lines about advertisements of a mismatched
// version, authentication or interval: one per reason per minute, like the
// address list mismatch; the counters count every one.
const dropLogEvery = time.Minute

// wireVersion is what an instance's VRRP version puts on the wire.
type wireVersion struct {
	version  uint8 // vrrp.Version3 or vrrp.Version2
	authType uint8 // VRRPv2: vrrp.AuthNone or vrrp.AuthSimple
	authData [vrrp.AuthDataLen]byte
	// lastDropLog is when each of the reasons above was last logged.
	lastDropLog map[vrrp.DropReason]time.Time
}

func (in *instance) configureVersion(cfg config.Instance) {
	in.version, in.authType, in.authData = vrrp.Version3, vrrp.AuthNone, [vrrp.AuthDataLen]byte{}
	if cfg.Version == vrrp.Version2 {
		in.version = vrrp.Version2
		if cfg.AuthPass != "" {
			in.authType, in.authData = vrrp.AuthSimple, vrrp.AuthPassword(cfg.AuthPass)
		}
	}
}

// dropVersion counts and logs an advertisement of the other VRRP version.
func (in *instance) dropVersion(from netip.Addr, v uint8) {
	hint := "set version: 2 on this instance (keepalived's default is VRRPv2), or vrrp_version 3 on the peer"
	if v == vrrp.Version3 {
		hint = "set version: 3 on this instance, or the peer's version to 2"
	}
	in.dropLogged(vrrp.DropVersionMismatch, "advertisement of another VRRP version dropped: "+hint,
		"from", from, "theirs", v, "ours", in.version)
}

// checkV2 applies the VRRPv2 receive checks of RFC 3768 §7.1 that need the
// instance: the authentication type and data, and the advertisement
// interval, which must be ours. It counts and logs a failure.
func (in *instance) checkV2(from netip.Addr, adv *vrrp.Advertisement) bool {
	switch {
	case adv.AuthType != in.authType:
		in.dropLogged(vrrp.DropAuth, "VRRPv2 advertisement with another authentication type dropped: "+
			"auth_pass must be set on both sides or on neither (keepalived: authentication { auth_type PASS })",
			"from", from, "theirs", adv.AuthType, "ours", in.authType)
		return false
	case adv.AuthType == vrrp.AuthSimple && adv.AuthData != in.authData:
		in.dropLogged(vrrp.DropAuth, "VRRPv2 advertisement with another password dropped: auth_pass differs from the peer's",
			"from", from)
		return false
	case adv.MaxAdvertInterval != in.centis:
		in.dropLogged(vrrp.DropIntervalMismatch, "VRRPv2 advertisement with another interval dropped: "+
			"RFC 3768 requires the same advert_interval on every router of the VRID",
			"from", from, "theirs", adv.Interval(), "ours", in.cfg.AdvertInterval)
		return false
	}
	return true
}

// dropLogged counts a drop and logs it at most once per dropLogEvery per
// reason, with the number of such drops so far.
func (in *instance) dropLogged(r vrrp.DropReason, msg string, args ...any) {
	in.drop(r)
	now := in.clock.Now()
	if in.lastDropLog == nil {
		in.lastDropLog = map[vrrp.DropReason]time.Time{}
	}
	if last, ok := in.lastDropLog[r]; ok && now.Sub(last) < dropLogEvery {
		return
	}
	in.lastDropLog[r] = now
	in.log.Warn(msg, append(args, "reason", r.String(), "dropped", in.drops[r.String()])...)
}
