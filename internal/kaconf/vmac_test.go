package kaconf

import (
	"strings"
	"testing"
)

// use_vmac with vmac_xmit_base become virtual_mac and vmac_xmit_base;
// vmac_xmit_base alone is noted.
func TestConvertVMACXmitBase(t *testing.T) {
	const conf = `vrrp_instance A {
    interface eth0
    virtual_router_id 42
    use_vmac
    vmac_xmit_base
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 43
    vmac_xmit_base
    virtual_ipaddress {
        192.0.2.101/24
    }
}
`
	tree, err := Parse("vmac.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(tree, Options{VirtualMAC: true, Source: "vmac.conf"})
	validate(t, res.YAML)
	out := string(res.YAML)
	if strings.Count(out, "virtual_mac: true") != 1 || strings.Count(out, "vmac_xmit_base: true") != 1 {
		t.Errorf("converted:\n%s", out)
	}
	var noted bool
	for _, n := range res.Notes {
		if strings.Contains(n.String(), "vmac_xmit_base: not supported without use_vmac") {
			noted = true
		}
	}
	if !noted {
		t.Errorf("no note for vmac_xmit_base without use_vmac: %v", res.Notes)
	}
}
