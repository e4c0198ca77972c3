package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// notify decodes an instance's notify hooks over the defaults in dst.
func (d *decoder) notify(n *yaml.Node, path string, dst *Notify) bool {
	before := len(d.errs)
	d.mapping(n, path, "a mapping (master:, backup:, fault:, stop:, any:, timeout:)", []field{
		{name: "master", decode: str(&dst.Master, checkCommand)},
		{name: "backup", decode: str(&dst.Backup, checkCommand)},
		{name: "fault", decode: str(&dst.Fault, checkCommand)},
		{name: "stop", decode: str(&dst.Stop, checkCommand)},
		{name: "any", decode: str(&dst.Any, checkCommand)},
		{name: "timeout", decode: duration(&dst.Timeout, between(100*time.Millisecond, time.Hour))},
	})
	return len(d.errs) == before
}
