package kaconf

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vipd/vipd/internal/config"
)

// hookOrder is the order of vipd's notify keys.
var hookOrder = []string{"master", "backup", "fault", "stop", "any"}

// yaml writes the converted instances as vipd's configuration.
func (c *converter) yaml() []byte {
	var b strings.Builder
	src := c.opt.Source
	if src == "" {
		src = "a keepalived configuration"
	}
	fmt.Fprintf(&b, "# vipd configuration converted by `vipd import` from %s.\n", src)
	b.WriteString("# What was not converted, and why, went to stderr. Check it with `vipd check --config FILE`.\n")
	var kept []string
	for _, in := range c.out {
		text := in.render()
		// The converter knows vipd's rules that span instances; what one
		// instance's values break (an interface name keepalived accepts
		// and Linux does not, say) is checked by vipd's own loader.
		if err := checkInstance(text); err != nil {
			c.note(in.src, "not converted: vipd check rejects the result: %v", err)
			continue
		}
		kept = append(kept, text)
	}
	c.kept = len(kept)
	if len(kept) == 0 {
		b.WriteString("instances: []\n")
		return []byte(b.String())
	}
	b.WriteString("instances:\n")
	b.WriteString(strings.Join(kept, "\n"))
	return []byte(b.String())
}

// checkInstance validates one rendered instance as vipd check does.
func checkInstance(text string) error {
	_, err := config.Options{Hostname: func() (string, error) { return "import", nil }}.Parse([]byte("instances:\n" + text))
	if err != nil && !VirtualMACSupported() && strings.Contains(text, "    virtual_mac: true\n") {
		// Not known to this vipd: noted already; check the rest.
		return checkInstance(strings.ReplaceAll(text, "    virtual_mac: true\n", ""))
	}
	if errs, ok := err.(config.Errors); ok {
		msgs := make([]string, 0, len(errs))
		for _, e := range errs {
			msgs = append(msgs, e.Path+": "+e.Msg)
		}
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return err
}

// render writes one instance as an item of vipd's instances list.
func (in *instanceOut) render() string {
	var b strings.Builder
	{
		fmt.Fprintf(&b, "  # from %s vrrp_instance %s\n", in.src.Where(), in.src.Args[0])
		if in.comment != "" {
			fmt.Fprintf(&b, "  # %s\n", in.comment)
		}
		fmt.Fprintf(&b, "  - name: %s\n", q(in.name))
		fmt.Fprintf(&b, "    interface: %s\n", q(in.iface))
		fmt.Fprintf(&b, "    vrid: %d\n", in.vrid)
		fmt.Fprintf(&b, "    priority: %d\n", in.priority)
		if in.version == 2 {
			b.WriteString("    version: 2\n")
		}
		fmt.Fprintf(&b, "    advert_interval: %s\n", fmtDuration(in.advert))
		if in.authPass != "" {
			fmt.Fprintf(&b, "    auth_pass: %s   # VRRPv2 simple password: sent in clear text, no security\n", q(in.authPass))
		}
		if !in.preempt {
			b.WriteString("    preempt: false\n")
		}
		if in.preemptDelay > 0 {
			fmt.Fprintf(&b, "    preempt_delay: %s\n", fmtDuration(in.preemptDelay))
		}
		if in.virtualMAC {
			b.WriteString("    virtual_mac: true\n")
			if in.xmitBase {
				b.WriteString("    vmac_xmit_base: true\n")
			}
		}
		if len(in.peers) > 0 {
			b.WriteString("    unicast_peers:\n")
			for _, p := range in.peers {
				fmt.Fprintf(&b, "      - %s\n", p)
			}
		}
		if in.announce.repeat > 0 || in.announce.refresh > 0 {
			b.WriteString("    announce:\n")
			if in.announce.repeat > 0 {
				fmt.Fprintf(&b, "      count: %d\n", in.announce.repeat)
			}
			if in.announce.refresh > 0 {
				fmt.Fprintf(&b, "      refresh: %s\n", fmtDuration(max(in.announce.refresh, 1e9)))
			}
		}
		if len(in.checks) > 0 {
			b.WriteString("    checks:\n")
			for _, ch := range in.checks {
				fmt.Fprintf(&b, "      - name: %s\n", q(ch.name))
				fmt.Fprintf(&b, "        type: %s\n", ch.typ)
				fmt.Fprintf(&b, "        target: %s\n", q(ch.target))
				fmt.Fprintf(&b, "        interval: %s\n", fmtDuration(ch.interval))
				fmt.Fprintf(&b, "        timeout: %s\n", fmtDuration(ch.timeout))
				fmt.Fprintf(&b, "        rise: %d\n", ch.rise)
				fmt.Fprintf(&b, "        fall: %d\n", ch.fall)
				if ch.fault {
					b.WriteString("        fault: true\n")
				} else {
					fmt.Fprintf(&b, "        weight: %d\n", ch.weight)
				}
			}
		}
		if len(in.notify) > 0 {
			b.WriteString("    notify:\n")
			for _, name := range hookOrder {
				for _, h := range in.notify {
					if h[0] == name {
						fmt.Fprintf(&b, "      %s: %s\n", name, q(h[1]))
					}
				}
			}
		}
		b.WriteString("    vips:\n")
		for _, p := range in.vips {
			fmt.Fprintf(&b, "      - %s\n", p)
		}
	}
	return b.String()
}

// q quotes s as a YAML scalar when it needs it.
func q(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	r := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(r, "\n") {
		// A block scalar would break the layout: use a double-quoted one.
		return fmt.Sprintf("%q", s)
	}
	return r
}
