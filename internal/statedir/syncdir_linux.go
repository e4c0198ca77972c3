package statedir

import (
	"errors"
	"os"
)

// syncDir fsyncs the directory at path, making a rename in it durable.
func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
