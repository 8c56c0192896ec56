package provider

import (
	"io"
)

// cappedBody fails the read that would go past the cap instead of cutting
// the body short, so an oversized answer is an error, never a silently
// truncated answer. A body closed early but healthy is handed to drain.
// Every read that delivers bytes calls touch (the idle timer); a failed
// read goes through fail, which may replace the error.
type cappedBody struct {
	rc       io.ReadCloser
	left     *int64 // shared by the bodies of a paged call
	tooLarge func() error
	drain    func(io.ReadCloser)
	touch    func()
	fail     func(error) error
	eof      bool // the body was read to its end
	failed   bool // a read failed; the connection is not worth keeping
	closed   bool
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.read(p)
	if n > 0 && b.touch != nil {
		b.touch()
	}
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		b.failed = true
		if b.fail != nil {
			err = b.fail(err)
		}
	}
	return n, err
}

func (b *cappedBody) read(p []byte) (int, error) {
	if *b.left <= 0 {
		// At the cap: one more byte means over it, EOF means exactly at it.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, b.tooLarge()
		}
		return 0, err
	}
	if int64(len(p)) > *b.left {
		p = p[:*b.left]
	}
	n, err := b.rc.Read(p)
	*b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.eof || b.failed || b.drain == nil {
		return b.rc.Close()
	}
	b.drain(b.rc)
	return nil
}
