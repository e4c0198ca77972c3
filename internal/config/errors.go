package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem at a place in the file.
type Error struct {
	// Line and Column are 1-based. Column is that of the offending key or
	// value; it is 1 when only the line is known.
	Line, Column int
	// Path is where in the document the problem is, such as
	// "instances[0].vips[3]"; empty for the document itself.
	Path string
	Msg  string
}

// Error formats the error as "line 12: instances[0].vrid: must be 1..255,
// got 300".
func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg)
}

// Errors is every problem found in a file, in line order. Parse keeps going
// after the first problem and reports all of them.
type Errors []*Error

// maxListed bounds how many errors Errors.Error spells out; the slice
// itself keeps all of them.
const maxListed = 20

// Error lists the errors one per line, the first maxListed of them, then
// how many more there are.
func (e Errors) Error() string {
	if len(e) == 0 {
		return "no errors"
	}
	var b strings.Builder
	for i, err := range e {
		if i == maxListed {
			fmt.Fprintf(&b, "\n... and %d more errors", len(e)-maxListed)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e Errors) sort() {
	slices.SortStableFunc(e, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// Located formats e as `vipd check` prints it: "FILE:LINE:COL: PATH:
// MESSAGE" (without PATH for a problem of the whole file), so that an
// editor can jump to it.
func (e *Error) Located(file string) string {
	where := fmt.Sprintf("%s:%d:%d", file, e.Line, e.Column)
	if e.Column == 0 {
		where = fmt.Sprintf("%s:%d", file, e.Line)
	}
	if e.Path == "" {
		return where + ": " + e.Msg
	}
	return where + ": " + e.Path + ": " + e.Msg
}

// Lines describes an error of [Load] or [Parse] for file: one Located
// line per problem of an [Errors], else the error's text.
func Lines(file string, err error) []string {
	var errs Errors
	if !errors.As(err, &errs) {
		return []string{err.Error()}
	}
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Located(file)
	}
	return out
}
