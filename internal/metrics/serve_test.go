package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

var discard = slog.New(slog.DiscardHandler)

// serve runs ServeListener on a loopback port until the returned cancel
// is called; done is closed when it has returned, with its result in *err.
func serve(t *testing.T, h http.Handler) (url string, cancel context.CancelFunc, done <-chan struct{}, err *error) {
	t.Helper()
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	var serr error
	go func() { defer close(stopped); serr = ServeListener(ctx, ln, h, discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("ServeListener did not return after cancel")
		}
	})
	return "http://" + ln.Addr().String(), cancel, stopped, &serr
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func TestServeRoutes(t *testing.T) {
	url, _, _, _ := serve(t, New("a", sampleStatus).Handler())
	tests := []struct {
		path     string
		code     int
		ctype    string
		contains string
	}{
		{"/", http.StatusOK, "text/html", `<a href="/metrics">`},
		{"/metrics", http.StatusOK, "text/plain", `vipd_info{node="a",version="v0.1.0"} 1`},
		{"/nope", http.StatusNotFound, "", ""},
		{"/metrics/x", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, ctype, body := get(t, url+tt.path)
			if code != tt.code {
				t.Fatalf("status %d, want %d", code, tt.code)
			}
			if !strings.HasPrefix(ctype, tt.ctype) {
				t.Errorf("Content-Type %q, want %s…", ctype, tt.ctype)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body lacks %q:\n%s", tt.contains, body)
			}
		})
	}
}

// TestServeGraceful checks that a scrape in flight when the context ends
// still gets its answer, that ServeListener then returns nil, and that the
// port is closed.
func TestServeGraceful(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "late but whole\n")
	})
	url, cancel, done, serr := serve(t, h)

	type result struct {
		code int
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		resc <- result{resp.StatusCode, string(b), err}
	}()

	deadline := time.After(10 * time.Second)
	select {
	case <-entered:
	case <-deadline:
		t.Fatal("scrape never reached the handler")
	}
	cancel()
	close(release)

	select {
	case r := <-resc:
		if r.err != nil || r.code != http.StatusOK || r.body != "late but whole\n" {
			t.Errorf("scrape in flight: code %d body %q err %v; want 200 and the whole body", r.code, r.body, r.err)
		}
	case <-deadline:
		t.Fatal("scrape in flight never finished")
	}
	select {
	case <-done:
		if *serr != nil {
			t.Errorf("ServeListener = %v, want nil after cancel", *serr)
		}
	case <-deadline:
		t.Fatal("ServeListener did not return after cancel")
	}
	if _, err := http.Get(url + "/"); err == nil {
		t.Error("server still answers after ServeListener returned")
	}
}

func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The port is taken: Serve must fail at once, not serve.
	err = Serve(context.Background(), ln.Addr().String(), http.NotFoundHandler(), discard)
	if err == nil || !strings.HasPrefix(err.Error(), "metrics: listen: ") {
		t.Errorf("Serve on a taken port = %v, want a metrics: listen: error", err)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", http.NotFoundHandler(), nil) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}
