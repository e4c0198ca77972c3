package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// parseYAML turns data into a node tree and returns the root value node,
// nil for an empty document. A syntax error comes back as an *Error with
// the best line that can be found for it.
func parseYAML(data []byte) (root *yaml.Node, e *Error) {
	// The YAML library is not ours; whatever it does, Parse must not
	// panic.
	defer func() {
		if r := recover(); r != nil {
			root, e = nil, &Error{Line: 1, Column: 1, Msg: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(data, err)
	}
	// A stream may end with empty documents ("---" alone); anything more
	// is a second config, which is refused rather than silently ignored.
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(data, err)
		}
		if len(next.Content) > 0 && next.Content[0].ShortTag() != "!!null" {
			return nil, &Error{Line: max(next.Line, 1), Column: 1,
				Msg: "a second YAML document (after ---); a config file holds exactly one"}
		}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlLineRE = regexp.MustCompile(`^line (\d+): `)

// syntaxError converts an error of the YAML library, "yaml: line 3:
// found character that cannot start any token", to an *Error. The library
// leaves out the line for problems on the first line and for some others;
// for those, the line is searched for here.
func syntaxError(data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	col := 1
	// The library's parser (unlike its scanner) reports the line of the
	// construct it was parsing counted from 0, and drops the column: the
	// line after the one it names holds the cause. An unclosed bracket is
	// the commonest case; it is found and pointed at.
	if strings.HasPrefix(msg, "did not find expected") {
		line++
		switch msg {
		case "did not find expected ',' or ']'":
			if l, c := unclosedFlow(data, '['); l > 0 {
				return &Error{Line: l, Column: c, Msg: "YAML syntax: '[' is never closed (" + msg + ")"}
			}
		case "did not find expected ',' or '}'":
			if l, c := unclosedFlow(data, '{'); l > 0 {
				return &Error{Line: l, Column: c, Msg: "YAML syntax: '{' is never closed (" + msg + ")"}
			}
		case "did not find expected node content": // "[" at the end
			for _, open := range []byte("[{") {
				if l, c := unclosedFlow(data, open); l > 0 {
					return &Error{Line: l, Column: c, Msg: "YAML syntax: '" + string(open) + "' is never closed (" + msg + ")"}
				}
			}
		}
		col = firstColumn(data, line)
	}
	switch {
	case line > 0:
	case strings.Contains(msg, "UTF-8") || strings.Contains(msg, "control characters"):
		line, col, msg = badCharacter(data, msg)
		return &Error{Line: max(line, 1), Column: col, Msg: msg}
	case strings.HasPrefix(msg, "unknown anchor"):
		line, col = anchorRef(data, msg)
	}
	if line <= 0 {
		line = 1
	}
	// Tabs are the commonest cause of a YAML syntax error in a hand
	// written file, and the library's message does not say so.
	if tl := tabIndented(data, line+1); tl > 0 {
		return &Error{Line: tl, Column: 1, Msg: "tab in indentation: YAML indents with spaces only (" + msg + ")"}
	}
	return &Error{Line: line, Column: col, Msg: "YAML syntax: " + msg}
}

// unclosedFlow returns the line and column of the last '[' or '{' (open)
// that starts a flow collection and is never closed, or 0. Brackets inside
// quotes, comments and plain scalars ("a[1]") are not counted.
func unclosedFlow(data []byte, open byte) (line, col int) {
	type mark struct {
		c         byte
		line, col int
	}
	var stack []mark
	n := 0
	for l := range bytes.Lines(data) {
		n++
		var quote rune
		prev := ' ' // the last non-space character before this one on the line
		last := ' ' // the character just before this one
		c := 0
		for _, r := range string(l) {
			c++
			before := last
			last = r
			if quote != 0 {
				if r == quote {
					quote = 0
				}
				continue
			}
			switch {
			case r == '#' && (before == ' ' || before == '\t'):
				goto next
			case (r == '\'' || r == '"') && strings.ContainsRune(" :-,[{", prev):
				quote = r
			case (r == '[' || r == '{') && strings.ContainsRune(" :-,[{", prev):
				stack = append(stack, mark{byte(r), n, c})
			case r == ']' && len(stack) > 0 && stack[len(stack)-1].c == '[',
				r == '}' && len(stack) > 0 && stack[len(stack)-1].c == '{':
				stack = stack[:len(stack)-1]
			}
			if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
				prev = r
			}
		}
	next:
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].c == open {
			return stack[i].line, stack[i].col
		}
	}
	return 0, 1
}

// firstColumn is the column of the first character of line that is not
// a space, or 1.
func firstColumn(data []byte, line int) int {
	n := 0
	for l := range bytes.Lines(data) {
		if n++; n == line {
			return utf8.RuneCount(l[:len(l)-len(bytes.TrimLeft(l, " "))]) + 1
		}
	}
	return 1
}

// tabIndented returns the first line, up to and including line upTo, whose
// indentation holds a tab, or 0.
func tabIndented(data []byte, upTo int) int {
	n := 0
	for l := range bytes.Lines(data) {
		n++
		if n > upTo {
			break
		}
		indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 && len(bytes.TrimSpace(l)) > 0 {
			return n
		}
	}
	return 0
}

// badCharacter finds the first byte the YAML reader refuses: invalid UTF-8
// or a control character other than tab, LF and CR.
func badCharacter(data []byte, msg string) (line, col int, _ string) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", data[i])
		case !yamlPrintable(r):
			return line, col, fmt.Sprintf("control character %U not allowed", r)
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return 0, 1, msg
}

// yamlPrintable is the YAML 1.2 c-printable set (with LF and CR).
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r == 0x85 || (r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd):
		return true
	case r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

var anchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced`)

// anchorRef finds the line of the alias named in an "unknown anchor"
// message.
func anchorRef(data []byte, msg string) (line, col int) {
	m := anchorRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, 1
	}
	n := 0
	for l := range bytes.Lines(data) {
		n++
		if i := bytes.Index(l, []byte("*"+m[1])); i >= 0 {
			return n, utf8.RuneCount(l[:i]) + 1
		}
	}
	return 0, 1
}

// lineCount is the number of lines in data as YAML counts them: a line
// break is LF, CR, CRLF, NEL (U+0085), LS (U+2028) or PS (U+2029). The
// text after the last break, even empty, is a line.
func lineCount(data []byte) int {
	n := 1
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			n++
		case '\r':
			if i+1 >= len(data) || data[i+1] != '\n' {
				n++
			}
		case 0xc2:
			if i+1 < len(data) && data[i+1] == 0x85 {
				n++
			}
		case 0xe2:
			if i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9) {
				n++
			}
		}
	}
	return n
}
