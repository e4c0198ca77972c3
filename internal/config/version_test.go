package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseVersion2(t *testing.T) {
	cfg, err := parse(t, base+"    version: 2\n    advert_interval: 255s\n    auth_pass: s3cret\n")
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instances[0]
	if in.Version != 2 || in.AdvertInterval != 255*time.Second || in.AuthPass != "s3cret" {
		t.Errorf("version %d interval %v auth_pass %q, want 2 255s s3cret", in.Version, in.AdvertInterval, in.AuthPass)
	}
	cfg, err = parse(t, base+"    version: 2\n")
	if err != nil {
		t.Fatal(err)
	}
	if in := cfg.Instances[0]; in.Version != 2 || in.AdvertInterval != time.Second || in.AuthPass != "" {
		t.Errorf("defaults: version %d interval %v auth_pass %q", in.Version, in.AdvertInterval, in.AuthPass)
	}
	cfg, err = parse(t, base)
	if err != nil || cfg.Instances[0].Version != 3 {
		t.Fatalf("default version: %v, %v", cfg, err)
	}
}

func TestParseVersionErrors(t *testing.T) {
	v6 := strings.Replace(base, "192.0.2.100/24", "2001:db8::100/64", 1)
	tests := []struct {
		name string
		in   string
		want []wantErr
	}{
		{"version 1", base + "    version: 1\n", []wantErr{{7, "instances[0].version: must be 2..3, got 1"}}},
		{"version 4", base + "    version: 4\n", []wantErr{{7, "instances[0].version: must be 2..3, got 4"}}},
		{"version string", base + "    version: v2\n", []wantErr{{7, "instances[0].version: must be an integer 2..3"}}},
		{"v2 fractional interval", base + "    version: 2\n    advert_interval: 1500ms\n",
			[]wantErr{{8, "instances[0].advert_interval: must be whole seconds 1s..255s with version: 2 (VRRPv2 carries seconds), got 1.5s"}}},
		{"v2 100ms", base + "    version: 2\n    advert_interval: 100ms\n", []wantErr{{8, "must be whole seconds 1s..255s"}}},
		{"v2 256s", base + "    advert_interval: 256s\n    version: 2\n", []wantErr{{7, "instances[0].advert_interval: must be whole seconds 1s..255s with version: 2"}}},
		{"v3 60s", base + "    advert_interval: 60s\n", []wantErr{{7, "instances[0].advert_interval: must be 10ms..40.95s, got 1m"}}},
		{"v2 ipv6", v6 + "    version: 2\n",
			[]wantErr{{7, "instances[0].version: VRRPv2 (RFC 3768) is IPv4 only and this instance's VIPs are IPv6"}}},
		{"auth_pass on v3", base + "    auth_pass: s3cret\n",
			[]wantErr{{7, "instances[0].auth_pass: is VRRPv2's simple password and this instance speaks VRRPv3"}}},
		{"auth_pass too long", base + "    version: 2\n    auth_pass: 123456789\n",
			[]wantErr{{8, "instances[0].auth_pass: must be 1..8 bytes (VRRPv2 carries 8; keepalived cuts longer ones to 8), got 9"}}},
		{"auth_pass empty", base + "    version: 2\n    auth_pass: \"\"\n", []wantErr{{8, "must be 1..8 bytes"}}},
		{"auth_pass space", base + "    version: 2\n    auth_pass: \"a b\"\n", []wantErr{{8, "must be printable ASCII without spaces"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(t, tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg)
			}
			checkErrors(t, err, tt.want)
		})
	}
}
