package doctor

import (
	"strings"
	"testing"
)

func TestVMACAdvice(t *testing.T) {
	in := Instance{Name: "web", Interface: "eth0", VirtualMAC: true, VRID: 42}
	ok := VMACState{Exists: true, Up: true, MAC: "00:00:5e:00:01:2a", ParentArpIgnore: "1", ParentArpAnnounce: "2"}
	tests := []struct {
		name  string
		st    VMACState
		state string
		want  []string // each in one piece of advice beyond the two traps
	}{
		{"master, all well", ok, "MASTER", nil},
		{"no daemon", VMACState{ParentArpIgnore: "0", ParentArpAnnounce: "0"}, "", []string{"eth0 has arp_ignore=0 arp_announce=0"}},
		{"strict rp_filter", VMACState{Exists: true, MAC: ok.MAC, ParentArpIgnore: "1", ParentArpAnnounce: "2", StrictRPFilter: true}, "BACKUP",
			[]string{"rp_filter is 1 (strict)"}},
		{"up on a backup", ok, "BACKUP", []string{"vrrp4-42 is up although this node is BACKUP"}},
		{"down on the master", VMACState{Exists: true, MAC: ok.MAC, ParentArpIgnore: "1", ParentArpAnnounce: "2"}, "MASTER",
			[]string{"vrrp4-42 is down although this node is master"}},
		{"missing", VMACState{ParentArpIgnore: "1", ParentArpAnnounce: "2"}, "BACKUP", []string{"vrrp4-42 does not exist although vipd runs"}},
		{"someone else's", VMACState{Exists: true, MAC: "02:00:00:00:00:01", ParentArpIgnore: "1", ParentArpAnnounce: "2"}, "BACKUP",
			[]string{"has MAC 02:00:00:00:00:01, not 00:00:5e:00:01:2a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := vmacAdvice(in, tt.st, tt.state)
			if len(got) != 2+len(tt.want) {
				t.Fatalf("advice %q, want the two traps and %q", got, tt.want)
			}
			if !strings.Contains(got[0], "Forged transmits") || !strings.Contains(got[1], "port security") {
				t.Errorf("traps %q", got[:2])
			}
			for i, w := range tt.want {
				if !strings.Contains(got[2+i], w) || !strings.HasPrefix(got[2+i], "instance web: virtual_mac (vrrp4-42, 00:00:5e:00:01:2a): ") {
					t.Errorf("advice %q, want %q", got[2+i], w)
				}
			}
		})
	}
}
