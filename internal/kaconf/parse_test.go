package kaconf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// dump renders nodes as "kw arg arg { ... }" lines with their line
// numbers, for comparisons.
func dump(ns []*Node, indent string) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(indent + n.Keyword)
		for _, a := range n.Args {
			b.WriteString(" [" + a + "]")
		}
		b.WriteString(" @" + itoa(n.Line))
		if n.Block {
			b.WriteString(" {\n" + dump(n.Children, indent+"  ") + indent + "}")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestParseSyntax(t *testing.T) {
	in := `! comment
# another
global_defs {   # comment after a brace
   router_id "my router"  ! bang comment
}
vrrp_script chk {
    script "/bin/check --x 'a b' #not-a-comment"
}
vrrp_instance VI_1
{
    virtual_ipaddress{ 192.0.2.1/24 dev eth0 }
    track_script {chk}
    empty {
    }
}
`
	tree, err := Parse("t.conf", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `global_defs @3 {
  router_id [my router] @4
}
vrrp_script [chk] @6 {
  script [/bin/check --x 'a b' #not-a-comment] @7
}
vrrp_instance [VI_1] @9 {
  virtual_ipaddress @11 {
    192.0.2.1/24 [dev] [eth0] @11
  }
  track_script @12 {
    chk @12
  }
  empty @13 {
  }
}
`
	if got := dump(tree.Nodes, ""); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a {\n b\n", "t.conf:1: block of a is not closed"},
		{"a\n}\n", "t.conf:2: '}' without an open block"},
		{"{\n", "t.conf:1: '{' without a keyword"},
		{"a {\n}\n{\n", "t.conf:3: '{' without a keyword"},
		{"script \"unterminated\n", "t.conf:1: unterminated quoted string"},
		{strings.Repeat("a {\n", 100), "blocks nested more than 64 deep"},
	} {
		_, err := Parse("t.conf", []byte(tc.in))
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestConditionalLines(t *testing.T) {
	in := "@a x 1\n@^a y 2\n@b z 3\nw 4\n"
	for _, tc := range []struct {
		id    string
		want  []string
		notes int
	}{
		{"", []string{"y", "w"}, 2},
		{"a", []string{"x", "w"}, 0},
		{"b", []string{"y", "z", "w"}, 0},
	} {
		p := &parser{l: Loader{ID: tc.id}, tree: &Tree{}, noInclude: true}
		nodes, err := p.parse("t.conf", []byte(in), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range nodes {
			got = append(got, n.Keyword)
		}
		if !reflect.DeepEqual(got, tc.want) || len(p.tree.Notes) != tc.notes {
			t.Errorf("id %q: %v with %d notes, want %v with %d", tc.id, got, len(p.tree.Notes), tc.want, tc.notes)
		}
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.conf", "a 1\ninclude sub/*.conf\nb {\n  include inner.conf\n}\n")
	write("sub/2.conf", "two\n")
	write("sub/1.conf", "one\ninclude ../none-*.conf\n")
	write("inner.conf", "in {\n x\n}\n")
	tree, err := Loader{}.Load(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	got := dump(tree.Nodes, "")
	want := "a [1] @1\none @1\ntwo @1\nb @3 {\n  in @1 {\n    x @2\n  }\n}\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if f := tree.Nodes[1].File; f != filepath.Join(dir, "sub/1.conf") {
		t.Errorf("included node's file %s", f)
	}
	if len(tree.Notes) != 1 || !strings.Contains(tree.Notes[0].String(), "1.conf:2: include: ") {
		t.Errorf("notes %v, want one about the include matching nothing", tree.Notes)
	}

	write("loop.conf", "include loop2.conf\n")
	write("loop2.conf", "include loop.conf\n")
	if _, err := (Loader{}).Load(filepath.Join(dir, "loop.conf")); err == nil || !strings.Contains(err.Error(), "include loop") {
		t.Errorf("include loop: %v", err)
	}
	write("unclosed.conf", "x {\n")
	write("inc-unclosed.conf", "include unclosed.conf\n")
	if _, err := (Loader{}).Load(filepath.Join(dir, "inc-unclosed.conf")); err == nil || !strings.Contains(err.Error(), "unclosed.conf:1: block of x") {
		t.Errorf("syntax error in an included file: %v", err)
	}
	if _, err := (Loader{}).Load(filepath.Join(dir, "absent.conf")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
