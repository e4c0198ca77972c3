//go:build !linux

package clock

import "errors"

func newFDWaker() (Waker, error) { return nil, errors.New("clock: no timerfd") }
