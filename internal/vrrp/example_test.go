package vrrp_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vipd/vipd/internal/vrrp"
)

func Example() {
	src := netip.MustParseAddr("192.0.2.11")
	interval, err := vrrp.IntervalCentis(1e9) // 1s
	if err != nil {
		panic(err)
	}
	a := &vrrp.Advertisement{
		VRID:              51,
		Priority:          150,
		MaxAdvertInterval: interval,
		Addresses:         []netip.Addr{netip.MustParseAddr("192.0.2.100")},
	}
	b, err := a.Marshal(src, vrrp.IPv4Group)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)

	got, err := vrrp.Parse(b, src, vrrp.IPv4Group)
	fmt.Println(got, err)

	// The checksum covers the pseudo-header: the same bytes from another
	// source are dropped.
	_, err = vrrp.Parse(b, netip.MustParseAddr("192.0.2.12"), vrrp.IPv4Group)
	fmt.Println(vrrp.ReasonOf(err), errors.Is(err, vrrp.ErrChecksum))
	// Output:
	// 31 33 96 01 00 64 d3 67 c0 00 02 64
	// vrid=51 prio=150 interval=1s addrs=[192.0.2.100] <nil>
	// checksum true
}
