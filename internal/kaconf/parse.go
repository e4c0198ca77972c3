package kaconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Node is one line of a keepalived configuration: a keyword, the words
// after it, and the block that follows it, if any.
type Node struct {
	Keyword  string
	Args     []string
	Children []*Node
	// Block is true when a block in braces followed the line (it may be
	// empty).
	Block bool
	File  string
	Line  int
}

// Where returns "FILE:LINE".
func (n *Node) Where() string { return fmt.Sprintf("%s:%d", n.File, n.Line) }

// Note is something the reader or the converter reports about a place in
// the input: a keyword not converted and why, or a value changed.
type Note struct {
	File    string
	Line    int
	Keyword string
	Msg     string
}

// String formats the note as "FILE:LINE: keyword: msg".
func (n Note) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", n.File, n.Line, n.Keyword, n.Msg)
}

// Tree is a parsed configuration: the top-level nodes, in order, with the
// included files' nodes in place of their include lines.
type Tree struct {
	Nodes []*Node
	// Notes are what the reader skipped: conditional lines for another
	// id, includes that matched nothing.
	Notes []Note
}

// Limits of the reader.
const (
	// MaxFileSize bounds one file.
	MaxFileSize = 16 << 20
	// MaxIncludeDepth bounds nested includes (keepalived allows a few).
	MaxIncludeDepth = 16
	// maxNesting bounds nested blocks.
	maxNesting = 64
)

// ErrSyntax is wrapped by every syntax error.
var ErrSyntax = errors.New("kaconf: syntax error")

// Loader reads a configuration and the files it includes.
type Loader struct {
	// ID is the configuration id of conditional lines: "@ID line" is kept
	// only when ID matches, "@^ID line" only when it does not. Empty: every
	// "@ID" line is skipped (and noted) and every "@^ID" line kept.
	ID string
	// ReadFile and Glob default to os.ReadFile and filepath.Glob.
	ReadFile func(string) ([]byte, error)
	Glob     func(string) ([]string, error)
}

// Load reads the configuration file at path and everything it includes.
func (l Loader) Load(path string) (*Tree, error) {
	if l.ReadFile == nil {
		l.ReadFile = readFile
	}
	if l.Glob == nil {
		l.Glob = filepath.Glob
	}
	t := &Tree{}
	p := &parser{l: l, tree: t}
	nodes, err := p.file(path, nil, 0)
	if err != nil {
		return nil, err
	}
	t.Nodes = nodes
	return t, nil
}

// Parse parses one file's contents; include lines are noted, not
// followed. It is what the fuzzer calls.
func Parse(name string, data []byte) (*Tree, error) {
	t := &Tree{}
	p := &parser{tree: t, noInclude: true}
	nodes, err := p.parse(name, data, nil, 0)
	if err != nil {
		return nil, err
	}
	t.Nodes = nodes
	return t, nil
}

func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, at most %d", path, fi.Size(), MaxFileSize)
	}
	return os.ReadFile(path)
}

type parser struct {
	l         Loader
	tree      *Tree
	noInclude bool
}

func (p *parser) note(file string, line int, kw, format string, args ...any) {
	p.tree.Notes = append(p.tree.Notes, Note{File: file, Line: line, Keyword: kw, Msg: fmt.Sprintf(format, args...)})
}

// file reads and parses path; stack holds the files including it.
func (p *parser) file(path string, stack []string, depth int) ([]*Node, error) {
	for _, s := range stack {
		if s == path {
			return nil, fmt.Errorf("kaconf: %s: included again from itself (include loop: %s)", path, strings.Join(append(stack, path), " -> "))
		}
	}
	if depth > MaxIncludeDepth {
		return nil, fmt.Errorf("kaconf: %s: includes nested more than %d deep", path, MaxIncludeDepth)
	}
	data, err := p.l.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kaconf: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("kaconf: %s: %d bytes, at most %d", path, len(data), MaxFileSize)
	}
	return p.parse(path, data, append(stack, path), depth)
}

// line is one logical line: its words, and whether it opens or closes
// blocks. Braces are words of their own.
type line struct {
	num   int
	words []string
}

// parse builds the nodes of one file.
func (p *parser) parse(name string, data []byte, stack []string, depth int) ([]*Node, error) {
	lines, err := p.lex(name, data)
	if err != nil {
		return nil, err
	}
	type frame struct {
		nodes *[]*Node
		open  *Node // the node whose block this is; nil at top level
	}
	var top []*Node
	frames := []frame{{nodes: &top}}
	var last *Node // the last node of the current level, for a "{" on its own line
	for _, ln := range lines {
		words := ln.words
		for len(words) > 0 {
			cur := &frames[len(frames)-1]
			switch words[0] {
			case "{":
				if last == nil || last.Block {
					return nil, fmt.Errorf("%w: %s:%d: '{' without a keyword before it", ErrSyntax, name, ln.num)
				}
				if len(frames) > maxNesting {
					return nil, fmt.Errorf("%w: %s:%d: blocks nested more than %d deep", ErrSyntax, name, ln.num, maxNesting)
				}
				last.Block = true
				frames = append(frames, frame{nodes: &last.Children, open: last})
				last = nil
				words = words[1:]
				continue
			case "}":
				if cur.open == nil {
					return nil, fmt.Errorf("%w: %s:%d: '}' without an open block", ErrSyntax, name, ln.num)
				}
				last = cur.open
				frames = frames[:len(frames)-1]
				words = words[1:]
				continue
			}
			// A keyword and its arguments, up to a brace.
			end := len(words)
			for i, w := range words {
				if w == "{" || w == "}" {
					end = i
					break
				}
			}
			n := &Node{Keyword: words[0], Args: append([]string(nil), words[1:end]...), File: name, Line: ln.num}
			words = words[end:]
			if n.Keyword == "include" && !n.Block {
				inc, err := p.include(n, stack, depth)
				if err != nil {
					return nil, err
				}
				*cur.nodes = append(*cur.nodes, inc...)
				last = nil
				continue
			}
			*cur.nodes = append(*cur.nodes, n)
			last = n
		}
	}
	if len(frames) > 1 {
		open := frames[len(frames)-1].open
		return nil, fmt.Errorf("%w: %s:%d: block of %s is not closed at the end of the file", ErrSyntax, name, open.Line, open.Keyword)
	}
	return top, nil
}

// include expands an include line: every file its glob matches, relative
// to the including file's directory, in order.
func (p *parser) include(n *Node, stack []string, depth int) ([]*Node, error) {
	if len(n.Args) != 1 {
		return nil, fmt.Errorf("%w: %s: include takes one file name or pattern, got %d", ErrSyntax, n.Where(), len(n.Args))
	}
	if p.noInclude {
		p.note(n.File, n.Line, "include", "not followed (no file system)")
		return nil, nil
	}
	pattern := n.Args[0]
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(n.File), pattern)
	}
	matches, err := p.l.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("kaconf: %s: include %s: %w", n.Where(), n.Args[0], err)
	}
	if len(matches) == 0 {
		p.note(n.File, n.Line, "include", "%s matches no file: nothing included (keepalived does the same)", pattern)
		return nil, nil
	}
	var out []*Node
	for _, m := range matches {
		nodes, err := p.file(m, stack, depth+1)
		if err != nil {
			return nil, fmt.Errorf("%s: include: %w", n.Where(), err)
		}
		out = append(out, nodes...)
	}
	return out, nil
}
