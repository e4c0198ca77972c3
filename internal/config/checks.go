package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checkNodes remembers where a check's values are, for the checks that
// involve the instance.
type checkNodes struct {
	weight *yaml.Node // nil unless present and decoded cleanly
	path   string
}

// checks decodes an instance's checks list. An empty list is the same as
// none (nil).
func (d *decoder) checks(n *yaml.Node, path string) ([]Check, []checkNodes, bool) {
	var (
		list  []Check
		where []checkNodes
	)
	names := map[string]*yaml.Node{}
	ok := d.sequence(n, path, func(_ int, v *yaml.Node, path string) bool {
		c, name, w, ok := d.check(v, path)
		if name != nil {
			if first := names[c.Name]; first != nil {
				d.errorf(name, join(path, "name"), "duplicate check name %s (first at line %d)", quote(c.Name), first.Line)
				ok = false
			} else {
				names[c.Name] = name
			}
		}
		if ok {
			list = append(list, c)
			where = append(where, w)
		}
		return ok
	})
	return list, where, ok
}

// check decodes one health check. name is the node of its name when that
// decoded cleanly, for the duplicate check.
func (d *decoder) check(n *yaml.Node, path string) (c Check, name *yaml.Node, w checkNodes, ok bool) {
	c = Check{Interval: DefaultCheckInterval, Rise: DefaultCheckRise, Fall: DefaultCheckFall}
	before := len(d.errs)
	m, ok := d.mapping(n, path, "a mapping (name:, type:, target:, ...)", []field{
		{name: "name", required: true, decode: str(&c.Name, checkName)},
		{name: "type", required: true, decode: str(&c.Type, checkCheckType)},
		{name: "target", required: true, decode: str(&c.Target, checkTargetText)},
		{name: "expect_status", decode: integer(&c.ExpectStatus, 100, 599)},
		{name: "interval", decode: duration(&c.Interval, between(100*time.Millisecond, time.Hour))},
		{name: "timeout", decode: duration(&c.Timeout, between(10*time.Millisecond, time.Hour))},
		{name: "rise", decode: integer(&c.Rise, 1, 100)},
		{name: "fall", decode: integer(&c.Fall, 1, 100)},
		{name: "weight", decode: integer(&c.Weight, -254, 254)},
		{name: "fault", decode: boolean(&c.Fault)},
	})
	if !ok {
		return c, nil, w, false
	}
	w.path = path
	w.weight = m.ok("weight")
	name = m.ok("name")

	if m.ok("type") != nil && m.ok("target") != nil {
		if msg := checkTarget(c.Type, c.Target); msg != "" {
			d.errorf(m.values["target"], join(path, "target"), "%s", msg)
		}
	}
	if m.ok("type") != nil {
		switch {
		case c.Type == CheckHTTP && !m.has("expect_status"):
			c.ExpectStatus = DefaultExpectStatus
		case c.Type != CheckHTTP && m.has("expect_status"):
			d.errorf(m.values["expect_status"], join(path, "expect_status"), "is for http checks only, and this check is of type %s", c.Type)
		}
	}
	intervalOK := m.ok("interval") != nil || !m.has("interval")
	switch {
	case !m.has("timeout"):
		c.Timeout = min(DefaultCheckTimeout, c.Interval)
	case m.ok("timeout") != nil && intervalOK && c.Timeout > c.Interval:
		d.errorf(m.values["timeout"], join(path, "timeout"), "%s is longer than the interval %s; a run must end before the next one starts",
			fmtDuration(c.Timeout), fmtDuration(c.Interval))
	}
	switch {
	case m.has("weight") && m.ok("fault") != nil && c.Fault:
		d.errorf(m.values["fault"], join(path, "fault"), "fault: true and weight exclude each other: a failing check either "+
			"adjusts the priority (weight) or puts the instance in FAULT (fault: true)")
	case len(d.errs) > before:
		// Say nothing about the effect of a check with other problems:
		// the likeliest is a misspelt weight or fault.
	case !m.has("weight") && !m.has("fault"), !m.has("weight") && m.ok("fault") != nil && !c.Fault:
		d.errorf(n, path, "a check needs an effect: weight: N (added to the priority: a negative N while the check fails, "+
			"a positive N while it passes) or fault: true (FAULT while it fails); weight: 0 only reports")
	}
	return c, name, w, len(d.errs) == before
}

// checkOwnerWeights refuses weights on the address owner, whose priority
// (255) never changes.
func (d *decoder) checkOwnerWeights(in *Instance, where []checkNodes) {
	if in.Priority != 255 {
		return
	}
	for i, c := range in.Checks {
		if w := where[i].weight; w != nil && c.Weight != 0 {
			d.errorf(w, join(where[i].path, "weight"), "the address owner (priority 255) keeps its priority, so a weight "+
				"has no effect; use fault: true, or a priority below 255")
		}
	}
}

// maxCommand bounds a command line; Linux refuses a single argument over
// 128 KiB.
const maxCommand = 64 << 10

func checkCheckType(s string) string {
	switch s {
	case CheckExec, CheckTCP, CheckHTTP, CheckInterface:
		return ""
	}
	return fmt.Sprintf("must be one of exec, tcp, http, interface, got %s", quote(s))
}

// checkTargetText is what every target must be; checkTarget then checks
// it for the check's type.
func checkTargetText(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "must not be empty"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL"
	case len(s) > maxCommand:
		return fmt.Sprintf("is %d bytes, at most %d", len(s), maxCommand)
	}
	return ""
}

// checkCommand checks a command line for /bin/sh -c.
func checkCommand(s string) string { return checkTargetText(s) }

// checkTarget checks a target for the check type typ.
func checkTarget(typ, s string) string {
	switch typ {
	case CheckTCP:
		return checkHostPort(s, false, "127.0.0.1:80 or [2001:db8::1]:80")
	case CheckHTTP:
		return checkURL(s)
	case CheckInterface:
		return checkIfname(s)
	}
	return ""
}

// checkHostPort checks host:port with a numeric port; emptyHost allows
// ":port". example is shown in messages.
func checkHostPort(s string, emptyHost bool, example string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("must be host:port, such as %s, got %s", example, quote(s))
	}
	if msg := checkPort(port); msg != "" {
		return msg
	}
	if host == "" {
		if emptyHost {
			return ""
		}
		return fmt.Sprintf("needs a host before the port, such as %s, got %s", example, quote(s))
	}
	return checkHost(host)
}

func checkPort(p string) string {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '+' || p[0] == '-' {
		return fmt.Sprintf("port must be a number 1..65535, got %s", quote(p))
	}
	return ""
}

var (
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$`)
	numericRE  = regexp.MustCompile(`^[0-9.]+$`)
)

// checkHost checks that host is an IP address (a zone allowed) or a host
// name.
func checkHost(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	if len(host) <= 253 && hostnameRE.MatchString(host) && !numericRE.MatchString(host) {
		return ""
	}
	return fmt.Sprintf("%s is neither an IP address nor a host name", quote(host))
}

// checkURL checks an http check's URL.
func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Sprintf("must be an http:// or https:// URL, such as http://127.0.0.1/health, got %s", quote(s))
	}
	if u.Host == "" {
		return fmt.Sprintf("URL %s has no host", quote(s))
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		if msg := checkPort(p); msg != "" {
			return msg
		}
	}
	return checkHost(u.Hostname())
}
