package kaconf

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// lex splits data into lines of words: comments removed, double quoted
// strings kept as one word without their quotes, braces as words of their
// own, conditional lines ("@ID", "@^ID") kept or skipped.
func (p *parser) lex(name string, data []byte) ([]line, error) {
	if !utf8.Valid(data) {
		// keepalived reads bytes; names and scripts are ASCII in practice.
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	var out []line
	for i, raw := range strings.Split(string(data), "\n") {
		num := i + 1
		words, err := splitWords(strings.TrimSuffix(raw, "\r"))
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrSyntax, name, num, err)
		}
		if len(words) == 0 {
			continue
		}
		if c := words[0]; strings.HasPrefix(c, "@") && len(c) > 1 {
			id, negated := strings.CutPrefix(c[1:], "^")
			keep := (p.l.ID == id) != negated
			if !keep {
				if !negated && p.l.ID == "" {
					p.note(name, num, c, "conditional line for keepalived -i %s skipped (vipd import --id %s keeps it)", id, id)
				}
				continue
			}
			words = words[1:]
			if len(words) == 0 {
				continue
			}
		}
		out = append(out, line{num: num, words: words})
	}
	return out, nil
}

// splitWords splits one line at white space. A '#' or '!' outside quotes
// starts a comment; "..." is one word (no escapes, as keepalived); '{' and
// '}' are words of their own when they stand alone or end or start a word.
func splitWords(s string) ([]string, error) {
	var words []string
	for {
		s = strings.TrimLeft(s, " \t\f\v")
		if s == "" || s[0] == '#' || s[0] == '!' {
			return words, nil
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted string %s", truncate(s, 40))
			}
			words = append(words, s[1:1+end])
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \t\f\v\"")
		if end < 0 {
			end = len(s)
		}
		w := s[:end]
		s = s[end:]
		words = append(words, splitBraces(w)...)
	}
}

// splitBraces splits "{", "}" off the ends of a word: "virtual_ipaddress{"
// is a keyword and a brace.
func splitBraces(w string) []string {
	var pre, post []string
	for len(w) > 1 && (w[0] == '{' || w[0] == '}') {
		pre = append(pre, w[:1])
		w = w[1:]
	}
	for len(w) > 1 && (w[len(w)-1] == '{' || w[len(w)-1] == '}') {
		post = append([]string{w[len(w)-1:]}, post...)
		w = w[:len(w)-1]
	}
	return append(append(pre, w), post...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
