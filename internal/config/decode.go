package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks the YAML node tree and collects every problem it finds,
// each at the line of the node it is about.
type decoder struct {
	hostname func() (string, error)
	errs     Errors
}

// errorf records a problem at node n (nil: the top of the file) and path.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, max(n.Column, 1)
	}
	d.errs = append(d.errs, &Error{Line: line, Column: col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// A field is one key of a mapping: its name, whether it must be present,
// and how to decode its value. Each struct of the format has a table of
// fields (schema.go); a new key is a new row.
type field struct {
	name     string
	required bool
	decode   decodeFunc
}

// decodeFunc decodes the value v found at path into its destination,
// reporting problems on d. It returns false if it reported any.
type decodeFunc func(d *decoder, v *yaml.Node, path string) bool

// decoded tells which keys of a mapping were present and which of them
// decoded cleanly, for the checks that involve more than one key.
type decoded struct {
	values map[string]*yaml.Node // value nodes of the keys present, not null
	bad    map[string]bool       // keys whose value was reported
}

// has reports whether the key was present with a value (not null).
func (m decoded) has(name string) bool { return m.values[name] != nil }

// ok returns the value node of key name if it was present and decoded
// cleanly, else nil.
func (m decoded) ok(name string) *yaml.Node {
	if m.bad[name] {
		return nil
	}
	return m.values[name]
}

// mapping decodes the mapping node n, found at path, with fields. It
// reports keys that are not in fields, keys given twice, and required keys
// that are missing or null. A null value is the same as a missing key: the
// default applies. what describes the expected mapping for the message when
// n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, path, what string, fields []field) (decoded, bool) {
	m := decoded{values: make(map[string]*yaml.Node, len(fields)), bad: map[string]bool{}}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be %s, got %s", what, describe(n))
		return m, false
	}
	keys := make(map[string]*yaml.Node, len(fields))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.errorf(k, path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		name := k.Value
		f := lookup(fields, name)
		if f == nil {
			d.errorf(k, join(path, quote(name)), "unknown key%s", suggest(name, fields))
			continue
		}
		p := join(path, name)
		if first := keys[name]; first != nil {
			d.errorf(k, p, "duplicate key (first at line %d)", first.Line)
			continue
		}
		keys[name] = k
		if isNull(v) {
			if f.required {
				d.errorf(k, p, "is required, but has no value")
				m.bad[name] = true
			}
			continue
		}
		m.values[name] = v
		if !d.plain(v, p) || !f.decode(d, v, p) {
			m.bad[name] = true
		}
	}
	for _, f := range fields {
		if f.required && keys[f.name] == nil {
			d.errorf(n, join(path, f.name), "is required")
		}
	}
	return m, true
}

func lookup(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

// suggest names the known key closest to an unknown one, or lists the
// known keys when none is close.
func suggest(name string, fields []field) string {
	best, bestDist := "", 3
	for _, f := range fields {
		if dist := editDistance(strings.ToLower(name), f.name); dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return " (known keys: " + strings.Join(names, ", ") + ")"
}

// editDistance is the Levenshtein distance of two short strings; long
// ones are not worth comparing and count as far apart.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sequence calls item for every element of the list node n, after checking
// that it is a list and that the element is plain.
func (d *decoder) sequence(n *yaml.Node, path string, item func(i int, v *yaml.Node, path string) bool) bool {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "must be a list, got %s", describe(n))
		return false
	}
	ok := true
	for i, v := range n.Content {
		p := index(path, i)
		if !d.plain(v, p) || !item(i, v, p) {
			ok = false
		}
	}
	return ok
}

// plain refuses the YAML features the format has no use for: aliases
// (which would also let a small file expand into a huge one) and
// application tags.
func (d *decoder) plain(v *yaml.Node, path string) bool {
	if v.Kind == yaml.AliasNode {
		d.errorf(v, path, "YAML aliases (*%s) are not supported; write the value out", v.Value)
		return false
	}
	if tag := v.ShortTag(); !strings.HasPrefix(tag, "!!") {
		d.errorf(v, path, "YAML tag %s is not supported", quote(tag))
		return false
	}
	return true
}

// scalar returns the text of a scalar node, reporting anything else.
func (d *decoder) scalar(v *yaml.Node, path, what string) (string, bool) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.errorf(v, path, "must be %s, got %s", what, describe(v))
		return "", false
	}
	return v.Value, true
}

func isNull(v *yaml.Node) bool {
	return v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null"
}

// describe names a node's kind and value for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!int", "!!float":
			return "the number " + quote(n.Value)
		case "!!bool":
			return "the boolean " + n.Value
		case "!!str":
			return "the string " + strconv.Quote(clip(n.Value))
		}
		return quote(n.Value)
	}
	return "nothing"
}

// quote quotes s for a message if it needs it, clipped to a sane length.
func quote(s string) string {
	s = clip(s)
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s && s != "" && !strings.ContainsAny(s, " #:,[]{}") {
		return s
	}
	return q
}

func clip(s string) string {
	const maxLen = 64
	if len(s) <= maxLen {
		return s
	}
	cut := maxLen
	for cut > 0 && s[cut]&0xc0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// str decodes a string checked by check, which returns a problem or "".
// Any scalar is a string: name: 42 is the name "42".
func str(dst *string, check func(string) string) decodeFunc {
	return func(d *decoder, v *yaml.Node, path string) bool {
		s, ok := d.scalar(v, path, "a string")
		if !ok {
			return false
		}
		if msg := check(s); msg != "" {
			d.errorf(v, path, "%s", msg)
			return false
		}
		*dst = s
		return true
	}
}

// integer decodes an integer in lo..hi.
func integer[T int | uint8 | uint32](dst *T, lo, hi int64) decodeFunc {
	return func(d *decoder, v *yaml.Node, path string) bool {
		var n int64
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&n) != nil {
			d.errorf(v, path, "must be an integer %d..%d, got %s", lo, hi, describe(v))
			return false
		}
		if n < lo || n > hi {
			d.errorf(v, path, "must be %d..%d, got %d", lo, hi, n)
			return false
		}
		*dst = T(n)
		return true
	}
}

// number decodes a number (integer or not) in lo..hi.
func number(dst *float64, lo, hi float64) decodeFunc {
	return func(d *decoder, v *yaml.Node, path string) bool {
		var f float64
		tag := v.ShortTag()
		if v.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || v.Decode(&f) != nil {
			d.errorf(v, path, "must be a number %g..%g, got %s", lo, hi, describe(v))
			return false
		}
		if !(f >= lo && f <= hi) { // also refuses NaN
			d.errorf(v, path, "must be %g..%g, got %s", lo, hi, v.Value)
			return false
		}
		*dst = f
		return true
	}
}

// boolean decodes true or false.
func boolean(dst *bool) decodeFunc {
	return func(d *decoder, v *yaml.Node, path string) bool {
		var b bool
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
			d.errorf(v, path, "must be true or false, got %s", describe(v))
			return false
		}
		*dst = b
		return true
	}
}

// duration decodes a Go duration string ("1s", "100ms") checked by check.
// A bare number is refused: it has no unit, and YAML would read 1 as an
// integer that some would take for seconds and others for milliseconds.
func duration(dst *time.Duration, check func(time.Duration) string) decodeFunc {
	return func(d *decoder, v *yaml.Node, path string) bool {
		if v.Kind != yaml.ScalarNode {
			d.errorf(v, path, "must be a duration such as \"1s\" or \"100ms\", got %s", describe(v))
			return false
		}
		s := v.Value
		if bareNumberRE.MatchString(s) {
			d.errorf(v, path, "a duration needs a unit, such as \"%ss\" or \"%sms\" (Go duration syntax), got the bare number %s", s, s, s)
			return false
		}
		if v.ShortTag() != "!!str" {
			d.errorf(v, path, "must be a duration such as \"1s\" or \"100ms\", got %s", describe(v))
			return false
		}
		t, err := time.ParseDuration(s)
		if err != nil {
			d.errorf(v, path, "must be a duration such as \"1s\", \"1.5s\" or \"100ms\" (units ns, us, ms, s, m, h), got %s", quote(s))
			return false
		}
		if msg := check(t); msg != "" {
			d.errorf(v, path, "%s", msg)
			return false
		}
		*dst = t
		return true
	}
}

var bareNumberRE = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]*)?$`)

// between is a duration check for lo..hi.
func between(lo, hi time.Duration) func(time.Duration) string {
	return func(t time.Duration) string {
		if t < lo || t > hi {
			return fmt.Sprintf("must be %s..%s, got %s", fmtDuration(lo), fmtDuration(hi), fmtDuration(t))
		}
		return ""
	}
}

// fmtDuration is time.Duration.String without the trailing zero units:
// "1h" rather than "1h0m0s".
func fmtDuration(t time.Duration) string {
	s := t.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
