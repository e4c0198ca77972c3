package control

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"
)

func TestStreamThreeResponses(t *testing.T) {
	m := NewMux()
	m.HandleFunc("count", func(ctx context.Context, req Request, w ResponseWriter) {
		for i := 1; i <= 3; i++ {
			if err := Reply(w, i); err != nil {
				return
			}
		}
	})
	path := startServer(t, &Server{Handler: m})

	var got []int
	err := Stream(context.Background(), path, Request{Command: "count"}, func(r Response) error {
		var n int
		if err := r.Decode(&n); err != nil {
			return err
		}
		got = append(got, n)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("streamed %v, want [1 2 3]", got)
	}

	// A callback error ends the stream and comes back from Stream.
	errEnough := errors.New("enough")
	calls := 0
	err = Stream(context.Background(), path, Request{Command: "count"}, func(r Response) error {
		calls++
		return errEnough
	})
	if !errors.Is(err, errEnough) || calls != 1 {
		t.Errorf("Stream with a failing callback = %v after %d calls, want errEnough after 1", err, calls)
	}
}

// A client that goes away mid-stream must release the handler: the one
// that keeps writing sees a write error, the idle one a cancelled context.
func TestServeClientDisconnectMidStream(t *testing.T) {
	writerDone := make(chan error, 1)
	idleDone := make(chan error, 1)
	m := NewMux()
	m.HandleFunc("firehose", func(ctx context.Context, req Request, w ResponseWriter) {
		for i := 0; ; i++ {
			if err := Reply(w, i); err != nil {
				writerDone <- err
				return
			}
		}
	})
	m.HandleFunc("idle", func(ctx context.Context, req Request, w ResponseWriter) {
		_ = Reply(w, "hello")
		<-ctx.Done()
		idleDone <- ctx.Err()
	})
	path := startServer(t, &Server{Handler: m})

	for _, tt := range []struct {
		command string
		done    chan error
	}{{"firehose", writerDone}, {"idle", idleDone}} {
		t.Run(tt.command, func(t *testing.T) {
			n := 0
			err := Stream(context.Background(), path, Request{Command: tt.command}, func(r Response) error {
				n++
				if n == 2 || tt.command == "idle" {
					return ErrStop // Stream closes the connection
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-tt.done:
				if err == nil {
					t.Error("handler ended without an error")
				}
			case <-time.After(waitTimeout):
				t.Fatal("handler still running after the client hung up")
			}
		})
	}
}

// A client may end its request by half-closing instead of a newline, as
// `printf '{"command":"status"}' | socat - UNIX:/run/vipd/vipd.sock` does.
func TestServeRequestEndedByEOF(t *testing.T) {
	path := startServer(t, &Server{Handler: echoStatus(Status{Node: "a"})})
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := conn.Write([]byte(`{"command":"status"}`)); err != nil {
		t.Fatal(err)
	}
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := resp.Decode(&st); err != nil || st.Node != "a" {
		t.Errorf("status = %+v, %v", st, err)
	}
}

func TestResponseWriterConcurrent(t *testing.T) {
	const writers, each = 8, 50
	m := NewMux()
	m.HandleFunc("fan", func(ctx context.Context, req Request, w ResponseWriter) {
		done := make(chan struct{})
		for i := range writers {
			go func() {
				defer func() { done <- struct{}{} }()
				for j := range each {
					_ = Reply(w, i*1000+j)
				}
			}()
		}
		for range writers {
			<-done
		}
	})
	path := startServer(t, &Server{Handler: m})
	seen := map[int]bool{}
	err := Stream(context.Background(), path, Request{Command: "fan"}, func(r Response) error {
		var n int
		if err := r.Decode(&n); err != nil {
			return err
		}
		seen[n] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != writers*each {
		t.Errorf("got %d distinct responses, want %d", len(seen), writers*each)
	}
}
