// Package cli is the vipd command line: cobra commands that parse flags and
// call into the daemon, config and control packages. cmd/vipd only calls
// Main.
package cli
