// Command vipd is a VRRPv3 virtual IP failover daemon that proves, per
// address, that the network followed a failover.
package main

func main() {}
