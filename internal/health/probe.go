package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vipd/vipd/internal/config"
)

// Errors wrapped by the built-in probers, for errors.Is.
var (
	// ErrStatus: an http check got another status than expected.
	ErrStatus = errors.New("health: unexpected HTTP status")
	// ErrExit: an exec check's command exited with a non-zero status.
	ErrExit = errors.New("health: command failed")
	// ErrLinkDown: an interface check's link is not up.
	ErrLinkDown = errors.New("health: link not up")
)

// DefaultProbers returns the built-in probers by check type. exec and
// interface work on Linux only; elsewhere they fail every run.
func DefaultProbers() map[string]ProbeFunc {
	return map[string]ProbeFunc{
		config.CheckExec:      ProbeExec,
		config.CheckTCP:       ProbeTCP,
		config.CheckHTTP:      ProbeHTTP,
		config.CheckInterface: ProbeInterface,
	}
}

// ProbeTCP passes if a TCP connection to c.Target (host:port) completes.
// The connection is closed at once.
func ProbeTCP(ctx context.Context, c config.Check) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Target)
	if err != nil {
		return err
	}
	return conn.Close()
}

// httpClient is shared by the http checks. It does not use a proxy from
// the environment (a check asks this node's service), does not keep
// connections (every run opens one, as a client would), does not follow
// redirects (a 301 is an answer, and expect_status can ask for it), and
// does not verify certificates: the check asks whether the service
// answers, and a certificate for a service name rarely matches the
// address a check dials.
var httpClient = &http.Client{
	Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// maxBody is how much of a response body an http check reads before it
// closes the connection.
const maxBody = 64 << 10

// ProbeHTTP passes if a GET of c.Target is answered with c.ExpectStatus
// (200 when 0).
func ProbeHTTP(ctx context.Context, c config.Check) error {
	want := c.ExpectStatus
	if want == 0 {
		want = config.DefaultExpectStatus
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "vipd-health-check")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%w: got %d, want %d", ErrStatus, resp.StatusCode, want)
	}
	return nil
}

// maxOutput is how much of an exec check's output is kept.
const maxOutput = 512

// capture keeps the first maxOutput bytes written to it and discards the
// rest, so that a chatty command can neither block nor fill memory.
type capture struct {
	buf []byte
}

func (c *capture) Write(p []byte) (int, error) {
	if room := maxOutput - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// text returns the output on one line, valid UTF-8, for a status line.
func (c *capture) text() string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(c.buf), string(utf8.RuneError)))
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " / ")), " ")
}
