// Command vipd is a VRRPv3 virtual IP failover daemon that proves, per
// address, that the network followed a failover. See 'vipd --help'.
package main

import (
	"os"

	"github.com/vipd/vipd/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
