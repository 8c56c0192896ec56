package provider

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// fakeBody is a response body that records how it was read and closed.
type fakeBody struct {
	r      io.Reader
	err    error // returned instead of EOF, when set
	closed chan struct{}
}

func newFakeBody(s string) *fakeBody {
	return &fakeBody{r: strings.NewReader(s), closed: make(chan struct{})}
}

func (f *fakeBody) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF && f.err != nil {
		return n, f.err
	}
	return n, err
}

func (f *fakeBody) Close() error {
	close(f.closed)
	return nil
}

func (f *fakeBody) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-f.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("body never closed")
	}
}

func TestCappedBody(t *testing.T) {
	t.Parallel()

	t.Run("DrainsEarlyClose", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		ex := &exchange{limit: 100, cancel: cancel}
		fb := newFakeBody("data: [DONE]\n\n<terminator>")
		b := &cappedBody{rc: fb, left: new(ex.limit), tooLarge: ex.tooLarge, drain: ex.drain}
		buf := make([]byte, 14)
		if _, err := io.ReadFull(b, buf); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		ex.release()
		fb.waitClosed(t)
		if rest, _ := io.ReadAll(fb.r); len(rest) != 0 {
			t.Errorf("%q left unread, want the body drained", rest)
		}
		<-ctx.Done() // the drain, not release, ends the call's context
		if err := b.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
	})

	t.Run("NoDrainAfterEOF", func(t *testing.T) {
		t.Parallel()
		ex := &exchange{limit: 100, cancel: func() {}}
		fb := newFakeBody("short")
		b := &cappedBody{rc: fb, left: new(ex.limit), tooLarge: ex.tooLarge, drain: ex.drain}
		_, _ = io.ReadAll(b)
		_ = b.Close()
		fb.waitClosed(t)
		if ex.draining {
			t.Error("drain started for a body read to EOF")
		}
	})

	t.Run("NoDrainAfterError", func(t *testing.T) {
		t.Parallel()
		ex := &exchange{limit: 100, cancel: func() {}}
		fb := newFakeBody("partial")
		fb.err = io.ErrUnexpectedEOF
		b := &cappedBody{rc: fb, left: new(ex.limit), tooLarge: ex.tooLarge, drain: ex.drain}
		if _, err := io.ReadAll(b); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("ReadAll = %v", err)
		}
		_ = b.Close()
		fb.waitClosed(t)
		if ex.draining {
			t.Error("drain started for a failed body")
		}
	})

	t.Run("ErrOverCap", func(t *testing.T) {
		t.Parallel()
		ex := &exchange{limit: 8, cancel: func() {}}
		b := &cappedBody{rc: newFakeBody("0123456789"), left: new(ex.limit), tooLarge: ex.tooLarge, drain: ex.drain}
		got, err := io.ReadAll(b)
		var perr *Error
		if !errors.As(err, &perr) || perr.Retryable || string(got) != "01234567" {
			t.Errorf("ReadAll = %q, %v; want 8 bytes then a non-retryable *Error", got, err)
		}
	})

	t.Run("AtCap", func(t *testing.T) {
		t.Parallel()
		ex := &exchange{limit: 10, cancel: func() {}}
		b := &cappedBody{rc: newFakeBody("0123456789"), left: new(ex.limit), tooLarge: ex.tooLarge, drain: ex.drain}
		if got, err := io.ReadAll(b); err != nil || string(got) != "0123456789" {
			t.Errorf("ReadAll = %q, %v", got, err)
		}
	})
}
