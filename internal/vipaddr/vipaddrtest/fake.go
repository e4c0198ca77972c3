// Package vipaddrtest provides an in-memory vipaddr.Addresses with failure
// injection, for tests of the daemon. Its addresses can be followed with
// OnChange (netmontest.Fake does) and changed as an operator would with
// Set, Insert and Delete.
package vipaddrtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"

	"github.com/vipd/vipd/internal/vipaddr"
)

// Op names a method of vipaddr.Addresses.
type Op string

// The operations.
const (
	OpAdd     Op = "add"
	OpRemove  Op = "remove"
	OpPresent Op = "present"
)

// Call records one call of the Fake.
type Call struct {
	Op      Op
	IfIndex int
	VIPs    []netip.Prefix
	Err     error
}

type failure struct {
	op Op
	p  netip.Prefix // zero: every call of op
}

// Fake is an in-memory vipaddr.Addresses. It keeps a set of prefixes per
// interface index and follows the Netlink semantics: Add is idempotent and
// all-or-nothing, Remove is idempotent and best effort, and Present compares
// address and prefix length. The zero value is not usable; call New.
type Fake struct {
	mu       sync.Mutex // guards everything below
	addrs    map[int]map[netip.Prefix]bool
	failures map[failure]error
	calls    []Call
	onCall   func(Call)
	onChange func(ifindex int, p netip.Prefix, present bool)
}

var _ vipaddr.Addresses = (*Fake)(nil)

// New returns a Fake with no addresses.
func New() *Fake {
	return &Fake{addrs: make(map[int]map[netip.Prefix]bool), failures: make(map[failure]error)}
}

// Fail makes op fail with err whenever it reaches prefix p: Add stops there
// and rolls back what it added, Remove goes on with the others and returns
// the joined errors. A zero p makes every call of op fail before it changes
// anything (the only form that applies to OpPresent). A nil err clears the
// failure.
func (f *Fake) Fail(op Op, p netip.Prefix, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failures, failure{op, p})
		return
	}
	f.failures[failure{op, p}] = err
}

// ClearFailures removes all injected failures.
func (f *Fake) ClearFailures() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.failures)
}

// OnCall sets a function called (without the Fake's lock held) after every
// call, for tests that wait for the daemon to act.
func (f *Fake) OnCall(fn func(Call)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onCall = fn
}

// OnChange sets fn, called for every address that appears on or vanishes
// from an interface, whatever the cause (Add and its rollback, Remove, Set,
// Insert, Delete), and at once for every address already there. fn is
// called with the Fake's lock held, so that it sees the changes in the
// order they were made even when several goroutines make them: it must not
// call the Fake. A nil fn removes it.
func (f *Fake) OnChange(fn func(ifindex int, p netip.Prefix, present bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onChange = fn
	if fn == nil {
		return
	}
	for _, i := range slices.Sorted(maps.Keys(f.addrs)) {
		for _, p := range sortedPrefixes(f.addrs[i]) {
			fn(i, p, true)
		}
	}
}

// put adds p to ifindex and reports whether it was new. Callers hold f.mu.
func (f *Fake) put(ifindex int, p netip.Prefix) bool {
	set := f.addrs[ifindex]
	if set == nil {
		set = make(map[netip.Prefix]bool)
		f.addrs[ifindex] = set
	}
	if set[p] {
		return false
	}
	set[p] = true
	if f.onChange != nil {
		f.onChange(ifindex, p, true)
	}
	return true
}

// del removes p from ifindex. Callers hold f.mu.
func (f *Fake) del(ifindex int, p netip.Prefix) {
	if !f.addrs[ifindex][p] {
		return
	}
	delete(f.addrs[ifindex], p)
	if f.onChange != nil {
		f.onChange(ifindex, p, false)
	}
}

// Set replaces the addresses of ifindex, as if an operator had changed them.
func (f *Fake) Set(ifindex int, prefixes ...netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keep := make(map[netip.Prefix]bool, len(prefixes))
	for _, p := range prefixes {
		keep[p] = true
	}
	for _, p := range sortedPrefixes(f.addrs[ifindex]) {
		if !keep[p] {
			f.del(ifindex, p)
		}
	}
	for _, p := range prefixes {
		f.put(ifindex, p)
	}
}

// Insert adds prefixes to ifindex as an operator would (ip addr add): not
// recorded as a call, and no failure is injected.
func (f *Fake) Insert(ifindex int, prefixes ...netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range prefixes {
		f.put(ifindex, p)
	}
}

// Delete removes prefixes from ifindex as an operator would (ip addr del):
// not recorded as a call, and no failure is injected.
func (f *Fake) Delete(ifindex int, prefixes ...netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range prefixes {
		f.del(ifindex, p)
	}
}

func sortedPrefixes(set map[netip.Prefix]bool) []netip.Prefix {
	return slices.SortedFunc(maps.Keys(set), func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
}

// Addresses returns the addresses of ifindex, sorted.
func (f *Fake) Addresses(ifindex int) []netip.Prefix {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sortedPrefixes(f.addrs[ifindex])
}

// Calls returns the calls made so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *Fake) record(op Op, ifindex int, vips []netip.Prefix, err error) error {
	c := Call{Op: op, IfIndex: ifindex, VIPs: slices.Clone(vips), Err: err}
	f.calls = append(f.calls, c)
	fn := f.onCall
	f.mu.Unlock()
	if fn != nil {
		fn(c)
	}
	return err
}

func opError(op Op, p netip.Prefix, ifindex int, err error) error {
	return fmt.Errorf("vipaddr: %s %v on ifindex %d: %w", op, p, ifindex, err)
}

// precheck returns the error that stops a call before it changes anything.
func (f *Fake) precheck(ctx context.Context, op Op, ifindex int, vips []netip.Prefix) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if op != OpPresent {
		if err := vipaddr.CheckPrefixes(vips); err != nil {
			return fmt.Errorf("vipaddr: %s: %w", op, err)
		}
	}
	if err := f.failures[failure{op: op}]; err != nil {
		return fmt.Errorf("vipaddr: %s on ifindex %d: %w", op, ifindex, err)
	}
	return nil
}

// Add implements vipaddr.Addresses.
func (f *Fake) Add(ctx context.Context, ifindex int, vips []netip.Prefix) error {
	f.mu.Lock() // released by record
	if err := f.precheck(ctx, OpAdd, ifindex, vips); err != nil {
		return f.record(OpAdd, ifindex, vips, err)
	}
	var added []netip.Prefix
	for _, p := range vips {
		if err := f.failures[failure{OpAdd, p}]; err != nil {
			for _, a := range added {
				f.del(ifindex, a)
			}
			return f.record(OpAdd, ifindex, vips, opError(OpAdd, p, ifindex, err))
		}
		if f.put(ifindex, p) {
			added = append(added, p)
		}
	}
	return f.record(OpAdd, ifindex, vips, nil)
}

// Remove implements vipaddr.Addresses.
func (f *Fake) Remove(ctx context.Context, ifindex int, vips []netip.Prefix) error {
	f.mu.Lock() // released by record
	// Like Netlink, a done context does not stop Remove.
	if err := f.precheck(context.WithoutCancel(ctx), OpRemove, ifindex, vips); err != nil {
		return f.record(OpRemove, ifindex, vips, err)
	}
	var errs []error
	for _, p := range vips {
		if err := f.failures[failure{OpRemove, p}]; err != nil {
			errs = append(errs, opError(OpRemove, p, ifindex, err))
			continue
		}
		f.del(ifindex, p)
	}
	return f.record(OpRemove, ifindex, vips, errors.Join(errs...))
}

// Present implements vipaddr.Addresses.
func (f *Fake) Present(ctx context.Context, ifindex int, vips []netip.Prefix) ([]netip.Prefix, error) {
	f.mu.Lock() // released by record
	if err := f.precheck(ctx, OpPresent, ifindex, vips); err != nil {
		return nil, f.record(OpPresent, ifindex, vips, err)
	}
	var present []netip.Prefix
	for _, p := range vips {
		if f.addrs[ifindex][p] {
			present = append(present, p)
		}
	}
	return present, f.record(OpPresent, ifindex, vips, nil)
}
