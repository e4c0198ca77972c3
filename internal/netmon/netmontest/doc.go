// Package netmontest provides an in-memory netmon.Source for tests of the
// daemon without root: links that go up and down, lose carrier, are
// deleted and recreated under a new index, and addresses that appear and
// vanish, each change delivered as a netmon.Change the way the Monitor
// delivers it.
//
// A Fake built on a vipaddrtest.Fake shares that fake's addresses: what the
// daemon adds or removes through vipaddrtest (vipaddr.Addresses) appears in
// or vanishes from the Fake's snapshot with a Change, and what a test
// removes through the Fake (an operator's ip addr del, a flush, a deleted
// link, a link set down that loses its IPv6 addresses) vanishes from the
// vipaddrtest.Fake too. vipaddrtest.Fake is the store; the Fake follows it
// through its OnChange hook.
//
// Changes are delivered in order on a goroutine of the Fake's, never on the
// caller's, like the Monitor's. The methods a test calls to change the
// Fake return once their changes have been delivered; changes made through
// the vipaddrtest.Fake are delivered asynchronously (the daemon is still in
// its call), and Sync waits for them. Callbacks must not call the Fake's
// methods that change it (they would wait for themselves); reading it, or
// calling the vipaddrtest.Fake, is fine.
package netmontest
