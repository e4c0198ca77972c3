package labnet

import (
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// probes builds a probe series: one probe every 10 ms from 0 to n-1, each
// answered after 1 ms unless lost(k).
func probes(n int, lost func(k int) bool) (sent, recv []int64) {
	for k := range n {
		s := int64(k) * 10 * ms
		sent = append(sent, s)
		if lost != nil && lost(k) {
			recv = append(recv, 0)
		} else {
			recv = append(recv, s+ms)
		}
	}
	return sent, recv
}

func TestAnalyse(t *testing.T) {
	tests := []struct {
		name           string
		lost           func(k int) bool
		since, horizon int64
		want           analysis
	}{
		{
			name: "no loss", since: 100 * ms, horizon: 990 * ms,
			want: analysis{sent: 90, received: 90, recovered: true, recovery: 100 * ms,
				maxGap: 10 * ms, firstLoss: -1, lastReply: 981 * ms},
		},
		{
			name: "one probe lost", lost: func(k int) bool { return k == 50 },
			since: 100 * ms, horizon: 990 * ms,
			want: analysis{sent: 90, received: 89, recovered: true, recovery: 511 * ms, outage: 411 * ms,
				maxGap: 20 * ms, longestLoss: 11 * ms, longestLossAt: 500 * ms, firstLoss: 500 * ms, lastReply: 981 * ms},
		},
		{
			name: "outage then recovery", lost: func(k int) bool { return k >= 20 && k < 50 },
			since: 200 * ms, horizon: 990 * ms,
			// Last reply before: none after since; first after: probe 50 at 501 ms.
			want: analysis{sent: 80, received: 50, recovered: true, recovery: 501 * ms, outage: 301 * ms,
				maxGap: 301 * ms, longestLoss: 301 * ms, longestLossAt: 200 * ms, firstLoss: 200 * ms, lastReply: 981 * ms},
		},
		{
			name: "outage starting later counts from since", lost: func(k int) bool { return k >= 30 && k < 40 },
			since: 100 * ms, horizon: 990 * ms,
			want: analysis{sent: 90, received: 80, recovered: true, recovery: 401 * ms, outage: 301 * ms,
				maxGap: 110 * ms, longestLoss: 101 * ms, longestLossAt: 300 * ms, firstLoss: 300 * ms, lastReply: 981 * ms},
		},
		{
			name: "never recovers", lost: func(k int) bool { return k >= 20 },
			since: 195 * ms, horizon: 990 * ms,
			want: analysis{sent: 80, received: 0, outage: 795 * ms, maxGap: 795 * ms, longestLoss: 790 * ms, longestLossAt: 200 * ms, firstLoss: 200 * ms, lastReply: -1},
		},
		{
			name: "recovers then fails again", lost: func(k int) bool { return (k >= 20 && k < 40) || k >= 60 },
			since: 200 * ms, horizon: 990 * ms,
			want: analysis{sent: 80, received: 20, outage: 790 * ms, maxGap: 399 * ms, longestLoss: 390 * ms, longestLossAt: 600 * ms, firstLoss: 200 * ms, lastReply: 591 * ms},
		},
		{
			name: "loss before since is not counted", lost: func(k int) bool { return k >= 5 && k < 9 },
			since: 100 * ms, horizon: 990 * ms,
			want: analysis{sent: 90, received: 90, recovered: true, recovery: 100 * ms,
				maxGap: 10 * ms, firstLoss: -1, lastReply: 981 * ms},
		},
		{
			name: "no probe in the window", since: 991 * ms, horizon: 1200 * ms,
			want: analysis{outage: 209 * ms, maxGap: 209 * ms, firstLoss: -1, lastReply: -1},
		},
		{
			name: "empty window", since: 500 * ms, horizon: 400 * ms,
			want: analysis{firstLoss: -1, lastReply: -1},
		},
	}
	for _, tt := range tests {
		sent, recv := probes(100, tt.lost)
		got := analyse(sent, recv, tt.since, tt.horizon)
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestAnalyseLateReplies(t *testing.T) {
	// Probes queued while the router resolved the new owner come back
	// together, out of send order: the first reply counts.
	sent := []int64{0, 10 * ms, 20 * ms, 30 * ms, 40 * ms, 50 * ms, 60 * ms}
	recv := []int64{1 * ms, 0, 45 * ms, 44 * ms, 43 * ms, 51 * ms, 61 * ms}
	got := analyse(sent, recv, 5*ms, 65*ms)
	want := analysis{sent: 6, received: 5, recovered: true, recovery: 43 * ms, outage: 38 * ms,
		maxGap: 38 * ms, longestLoss: 33 * ms, longestLossAt: 10 * ms, firstLoss: 10 * ms, lastReply: 61 * ms}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestAnalyseClientStall: the client sent nothing for 300 ms and every probe
// was answered. The gap is there; no loss is.
func TestAnalyseClientStall(t *testing.T) {
	var sent, recv []int64
	for k := range 20 {
		s := int64(k) * 10 * ms
		if k >= 10 {
			s += 300 * ms
		}
		sent, recv = append(sent, s), append(recv, s+ms)
	}
	got := analyse(sent, recv, 0, 500*ms)
	if got.maxGap != 310*ms || got.longestLoss != 0 || got.outage != 0 {
		t.Errorf("got maxGap %v, longestLoss %v, outage %v; want 310ms, 0, 0",
			time.Duration(got.maxGap), time.Duration(got.longestLoss), time.Duration(got.outage))
	}
}

func TestHistoryLags(t *testing.T) {
	h := newHistory(1, time.Unix(1000, 0))
	h.lagged(2*ms, 10*ms) // noise
	h.lagged(40*ms, 100*ms)
	h.lagged(60*ms, 100*ms) // the same stall, seen later
	h.lagged(20*ms, 500*ms)
	if d, at := h.worstLag(0, time.Second.Nanoseconds()); d != 60*ms || at != 100*ms {
		t.Errorf("worst lag %v at %v, want 60ms at 100ms", time.Duration(d), time.Duration(at))
	}
	if d, at := h.worstLag(200*ms, time.Second.Nanoseconds()); d != 20*ms || at != 500*ms {
		t.Errorf("worst lag since 200ms: %v at %v, want 20ms at 500ms", time.Duration(d), time.Duration(at))
	}
	if d, _ := h.worstLag(0, 50*ms); d != 0 {
		t.Errorf("worst lag before 50ms: %v, want none (noise is not kept)", time.Duration(d))
	}
	for k := range maxLags + 10 {
		h.lagged(10*ms, int64(k+1)*time.Second.Nanoseconds())
	}
	if d, _ := h.worstLag(0, 200*ms); d != 60*ms {
		t.Errorf("the worst lag was dropped when the list filled up: %v", time.Duration(d))
	}
}

func TestHistory(t *testing.T) {
	start := time.Unix(1000, 0)
	h := newHistory(2, start)
	for k := range 5 {
		if seq := h.sentProbe(1, int64(k)*10*ms); seq != uint64(k) {
			t.Fatalf("seq %d, want %d", seq, k)
		}
	}
	if !h.reply(1, 2, 21*ms) {
		t.Fatal("reply to probe 2 refused")
	}
	for _, bad := range []struct {
		i   int
		seq uint64
	}{{1, 2}, {1, 5}, {0, 0}, {2, 0}, {-1, 0}} {
		if h.reply(bad.i, bad.seq, 50*ms) {
			t.Errorf("reply(%d, %d) accepted", bad.i, bad.seq)
		}
	}
	h.trim(25 * ms) // forgets probes 0..2
	if v := &h.vips[1]; v.base != 3 || len(v.sent) != 2 {
		t.Fatalf("after trim: base %d, %d probes", v.base, len(v.sent))
	}
	if h.reply(1, 2, 60*ms) {
		t.Error("reply to a trimmed probe accepted")
	}
	if !h.reply(1, 4, 41*ms) || h.sentProbe(1, 50*ms) != 5 {
		t.Error("sequence numbers broken after trim")
	}
	if got := h.sentTotal.Load(); got != 6 {
		t.Errorf("sentTotal = %d, want 6", got)
	}
	if got := h.recvTotal.Load(); got != 2 {
		t.Errorf("recvTotal = %d, want 2", got)
	}
	r := h.result(1, h.at(start.Add(30*time.Millisecond)), 60*ms)
	if r.Sent != 3 || r.Received != 1 || r.FirstLoss != start.Add(30*time.Millisecond) || r.LastReply != start.Add(41*time.Millisecond) {
		t.Errorf("result = %+v", r)
	}
}

func TestEffectiveInterval(t *testing.T) {
	tests := []struct {
		n     int
		every time.Duration
		want  time.Duration
	}{
		{20, 10 * time.Millisecond, 10 * time.Millisecond},
		{200, 10 * time.Millisecond, 10 * time.Millisecond}, // exactly 20k pps
		{4096, 10 * time.Millisecond, 204800 * time.Microsecond},
		{4096, time.Second, time.Second},
	}
	for _, tt := range tests {
		got := effectiveInterval(tt.n, tt.every)
		if got != tt.want {
			t.Errorf("effectiveInterval(%d, %v) = %v, want %v", tt.n, tt.every, got, tt.want)
		}
		if pps := float64(tt.n) / got.Seconds(); pps > MaxPPS+0.5 {
			t.Errorf("%d VIPs every %v: %.0f pps", tt.n, got, pps)
		}
	}
}

func TestInetChecksum(t *testing.T) {
	// An ICMP echo request, id 0x1234, seq 1, no payload: checksum 0xe5ca.
	b := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1}
	if got := inetChecksum(b); got != 0xe5ca {
		t.Errorf("checksum = %#04x, want 0xe5ca", got)
	}
	b[2], b[3] = 0xe5, 0xca
	if got := inetChecksum(b); got != 0 {
		t.Errorf("checksum over a checksummed message = %#04x, want 0", got)
	}
	if got := inetChecksum([]byte{1}); got != 0xfeff {
		t.Errorf("odd length: %#04x", got)
	}
}
