package bgp

// Preference is how a node's priority is carried in its announcements.
type Preference struct {
	// Prepend is how many times the node's ASN is added to the AS path on
	// top of the one eBGP adds: a longer path loses.
	Prepend int
	// MED is the MULTI_EXIT_DISC: a lower one wins, between paths from
	// the same neighbouring AS.
	MED uint32
}

// prependBand is how many priority points one prepend stands for.
const prependBand = 10

// PreferenceFor maps a priority (1..255, higher wins, as in VRRP) to a
// preference that orders paths the same way at a router with default
// settings: one prepend per started 10 points below 255 (0 at 255, 1 at
// 245..254, 16 at 100, 26 at 1), and MED 255 − priority, which orders two
// priorities in the same band when the nodes share an ASN.
func PreferenceFor(priority uint8) Preference {
	below := 255 - int(priority)
	return Preference{
		Prepend: (below + prependBand - 1) / prependBand,
		MED:     uint32(below),
	}
}

// Better reports whether a wins over b at a router with default settings
// comparing two paths from the same neighbouring AS: the shorter AS path,
// then the lower MED.
func (a Preference) Better(b Preference) bool {
	if a.Prepend != b.Prepend {
		return a.Prepend < b.Prepend
	}
	return a.MED < b.MED
}
