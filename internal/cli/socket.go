package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/vipd/vipd/internal/config"
)

// addSocketFlags adds --socket and --config to a command that talks to
// the daemon; socketFor tells which socket to dial.
func addSocketFlags(cmd *cobra.Command) {
	cmd.Flags().StringP("socket", "s", "", "control socket of the daemon (default: control_socket of --config, else "+config.DefaultControlSocket+")")
	cmd.Flags().StringP("config", "c", DefaultConfig, "configuration file that names the control socket")
}

// socketFor is --socket if given, else the control_socket of --config.
func socketFor(cmd *cobra.Command) (string, error) {
	f := cmd.Flags()
	if f.Changed("socket") {
		return f.GetString("socket")
	}
	path, err := f.GetString("config")
	if err != nil {
		return "", err
	}
	return socketOf(path, f.Changed("config"))
}

// socketOf reads control_socket from the configuration file at path. It
// does not validate the file: `vipd reload` must reach the daemon to hear
// what is wrong with it. A missing default file means the default socket;
// a file named with --config must be readable.
func socketOf(path string, explicit bool) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return config.DefaultControlSocket, nil
		}
		return "", fmt.Errorf("--config %s: %w (it names the control socket; or give --socket)", path, err)
	}
	var doc struct {
		ControlSocket string `yaml:"control_socket"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// A file that does not parse as a whole may still name it.
		if m := socketLineRE.FindSubmatch(data); m != nil {
			doc.ControlSocket = string(m[1])
		}
	}
	if doc.ControlSocket == "" {
		return config.DefaultControlSocket, nil
	}
	return doc.ControlSocket, nil
}

var socketLineRE = regexp.MustCompile(`(?m)^control_socket:[ \t]*["']?([^"'#\s]+)`)
