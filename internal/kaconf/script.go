package kaconf

import (
	"net"
	"regexp"
	"strconv"
	"time"
)

// script is a vrrp_script: a health check an instance can track.
type script struct {
	node     *Node
	name     string
	command  string
	interval time.Duration
	timeout  time.Duration // 0: the interval, as keepalived
	timeoutN *Node
	weight   int
	rise     int
	fall     int
	used     bool
}

// check is one vipd health check of an instance.
type check struct {
	name, typ, target string
	interval, timeout time.Duration
	rise, fall        int
	weight            int
	fault             bool
}

// script records a vrrp_script block.
func (c *converter) script(n *Node) {
	if len(n.Args) < 1 {
		c.note(n, "has no name: not converted")
		return
	}
	s := &script{node: n, name: n.Args[0], interval: time.Second, rise: 1, fall: 1}
	for _, k := range n.Children {
		switch k.Keyword {
		case "script":
			s.command = joinArgs(k.Args)
		case "interval":
			if d, ok := c.seconds(k, 0.1, 3600); ok {
				s.interval = d
			}
		case "timeout":
			if d, ok := c.seconds(k, 0.01, 3600); ok {
				s.timeout, s.timeoutN = d, k
			}
		case "weight":
			if v, ok := c.intArg(k, -254, 254); ok {
				s.weight = v
			}
			if len(k.Args) > 1 {
				c.note(k, "%s: not supported (vipd applies a negative weight while the check fails and a positive one "+
					"while it passes, keepalived's default sense): review this check", k.Args[1])
			}
		case "rise":
			if v, ok := c.intArg(k, 1, 100); ok {
				s.rise = v
			}
		case "fall":
			if v, ok := c.intArg(k, 1, 100); ok {
				s.fall = v
			}
		case "user":
			c.note(k, "not supported (vipd runs checks as its own user)")
		case "init_fail":
			c.note(k, "not needed (a vipd check counts as failing until it has run)")
		default:
			c.note(k, "not supported (no vipd equivalent)")
		}
	}
	if prev := c.scripts[s.name]; prev != nil {
		c.note(n, "%s is defined again (first at %s): the later one is used, as keepalived does", s.name, prev.node.Where())
	}
	c.scripts[s.name] = s
}

// trackScripts converts an instance's track_script block.
func (c *converter) trackScripts(b *Node, owner bool) []check {
	var out []check
	for _, t := range b.Children {
		s := c.scripts[t.Keyword]
		if s == nil {
			c.note(t, "no vrrp_script of this name: not converted")
			continue
		}
		if s.command == "" {
			c.note(t, "vrrp_script %s has no script line: not converted", s.name)
			continue
		}
		s.used = true
		weight := s.weight
		if len(t.Args) >= 2 && t.Args[0] == "weight" {
			if v, err := strconv.Atoi(t.Args[1]); err == nil && v >= -254 && v <= 254 {
				weight = v
			} else {
				c.note(t, "weight %s is not an integer -254..254: the script's weight %d is used", quote(t.Args[1]), s.weight)
			}
			if len(t.Args) > 2 {
				c.note(t, "%s: not supported (vipd applies a negative weight while the check fails, a positive one "+
					"while it passes): review this check", t.Args[2])
			}
		}
		timeout := s.timeout
		if timeout == 0 {
			timeout = s.interval
		}
		if timeout > s.interval {
			c.note(s.timeoutN, "timeout %s is longer than the interval %s: vipd ends a run before the next one starts, "+
				"timeout set to %s", fmtDuration(timeout), fmtDuration(s.interval), fmtDuration(s.interval))
			timeout = s.interval
		}
		ch := check{name: s.name, typ: "exec", target: s.command, interval: s.interval,
			timeout: timeout, rise: s.rise, fall: s.fall}
		if hp, ok := devTCP(s.command); ok {
			// bash's connect test; /bin/sh is not bash on Debian.
			ch.typ, ch.target = "tcp", hp
		}
		out = append(out, c.effect(t, ch, weight, owner))
	}
	return out
}

// trackInterfaces converts an instance's track_interface block.
func (c *converter) trackInterfaces(b *Node, owner bool) []check {
	var out []check
	for _, t := range b.Children {
		weight, hasWeight := 0, false
		if len(t.Args) >= 2 && t.Args[0] == "weight" {
			v, err := strconv.Atoi(t.Args[1])
			if err != nil || v < -254 || v > 254 {
				c.note(t, "weight %s is not an integer -254..254: not converted", quote(t.Args[1]))
				continue
			}
			weight, hasWeight = v, true
		}
		ch := check{name: "interface_" + t.Keyword, typ: "interface", target: t.Keyword, interval: time.Second,
			timeout: 10 * time.Millisecond, rise: 1, fall: 1}
		if !hasWeight {
			ch.fault = true
			out = append(out, ch)
			continue
		}
		out = append(out, c.effect(t, ch, weight, owner))
	}
	return out
}

// effect gives ch keepalived's effect of a weight: 0 puts the instance in
// FAULT while the check fails; others adjust the priority, except on the
// address owner, whose priority keepalived and vipd keep.
func (c *converter) effect(t *Node, ch check, weight int, owner bool) check {
	switch {
	case weight == 0:
		ch.fault = true
	case owner:
		c.note(t, "weight %d has no effect on the address owner (priority 255), in keepalived as in vipd: "+
			"the check only reports", weight)
	default:
		ch.weight = weight
	}
	return ch
}

var devTCPRE = regexp.MustCompile(`^\s*(?:bash -c\s+'?\s*)?<\s*/dev/tcp/([^/\s']+)/([0-9]{1,5})\s*'?\s*$`)

// devTCP recognises bash's connect test "</dev/tcp/HOST/PORT" (which
// keepalived's samples use) and returns HOST:PORT for a tcp check.
func devTCP(cmd string) (string, bool) {
	m := devTCPRE.FindStringSubmatch(cmd)
	if m == nil {
		return "", false
	}
	return net.JoinHostPort(m[1], m[2]), true
}

// joinArgs rebuilds a command line from its words.
func joinArgs(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
