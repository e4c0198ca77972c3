package kaconf

import (
	"sync"

	"github.com/vipd/vipd/internal/config"
)

// VirtualMACSupported reports whether this vipd's configuration knows
// virtual_mac (RFC 5798 §7.3), by asking its loader: import converts
// use_vmac to it only then.
var VirtualMACSupported = sync.OnceValue(func() bool {
	const probe = "node: probe\ninstances:\n  - name: p\n    interface: eth0\n    vrid: 1\n    virtual_mac: true\n    vips: [192.0.2.1/32]\n"
	_, err := config.Parse([]byte(probe))
	return err == nil
})
