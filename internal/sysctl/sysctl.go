// Package sysctl reads and writes the kernel parameters under /proc/sys
// (sysctl(8)'s files) in the network namespace of the calling thread: the
// per-interface settings vipd needs (package vipaddr) and changes for
// virtual MAC interfaces (package vmac).
package sysctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Root is where the sysctl tree is mounted; tests point it elsewhere.
var Root = "/proc/sys"

// Read returns the value at path (relative to Root, "net/ipv4/conf/eth0/
// arp_ignore"), without the trailing newline.
func Read(path string) (string, error) {
	b, err := os.ReadFile(filepath.Join(Root, path))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Write writes value to the sysctl at path (relative to Root). The file is
// opened on the calling thread, so the write lands in that thread's network
// namespace. A missing sysctl is an error wrapping os.ErrNotExist.
func Write(path, value string) error {
	f, err := os.OpenFile(filepath.Join(Root, path), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
