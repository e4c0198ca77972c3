// Package e2e holds vipd's end-to-end tests: they build the vipd binary, run
// it in network namespaces made by internal/labnet (a client, a Linux
// router, a bridge, nodes A and B) next to Debian's keepalived, and check
// what a client behind the router sees. They need root; see testutil.
package e2e
