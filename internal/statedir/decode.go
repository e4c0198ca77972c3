package statedir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// decodeObject parses b, which must be one JSON object, into v. Errors say
// where the JSON breaks; unknown fields are allowed (a newer vipd may add
// some).
func decodeObject(b []byte, v any) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return errors.New("empty file")
	}
	if t[0] != '{' {
		return errors.New("not a JSON object")
	}
	if err := json.Unmarshal(t, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("not valid JSON at byte %d: %w", se.Offset, err)
		}
		return fmt.Errorf("not the expected JSON: %w", err)
	}
	return nil
}
