// Package vipaddrtest provides an in-memory vipaddr.Addresses with failure
// injection, for tests of the daemon.
package vipaddrtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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

// Set replaces the addresses of ifindex, as if an operator had changed them.
func (f *Fake) Set(ifindex int, prefixes ...netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[netip.Prefix]bool, len(prefixes))
	for _, p := range prefixes {
		m[p] = true
	}
	f.addrs[ifindex] = m
}

// Addresses returns the addresses of ifindex, sorted.
func (f *Fake) Addresses(ifindex int) []netip.Prefix {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ps []netip.Prefix
	for p := range f.addrs[ifindex] {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	return ps
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
	set := f.addrs[ifindex]
	if set == nil {
		set = make(map[netip.Prefix]bool)
		f.addrs[ifindex] = set
	}
	var added []netip.Prefix
	for _, p := range vips {
		if err := f.failures[failure{OpAdd, p}]; err != nil {
			for _, a := range added {
				delete(set, a)
			}
			return f.record(OpAdd, ifindex, vips, opError(OpAdd, p, ifindex, err))
		}
		if !set[p] {
			set[p] = true
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
		delete(f.addrs[ifindex], p)
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
