//go:build !linux

package lab

import (
	"context"
	"errors"
)

// Run needs Linux network namespaces.
func Run(ctx context.Context, o Options) (*Report, error) {
	return nil, errors.New("lab: needs Linux (network namespaces)")
}
