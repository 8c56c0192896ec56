package mockllm

import (
	"bytes"
	"context"
	"net/http"
	"time"
)

// respond sends c, whole or streamed, applying the latency and the
// answer-shaping faults (malformed, hang), and returns the status sent.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, cfg *Config, sc *scratch, c *completion, stream, malformed bool, cl *call) int {
	if stream {
		return s.stream(r.Context(), w, cfg, sc, c, malformed, cl)
	}
	if err := s.waitUntil(r.Context(), nil, cl.start, max(cfg.Latency, cfg.TTFT)); err != nil {
		return StatusClientClosed
	}
	sc.out = c.appendBody(sc.out[:0])
	body := sc.out
	hang := cfg.HangAfterFirstToken && !malformed
	if malformed || hang {
		// A strict prefix of a JSON object never parses.
		body = body[:len(body)/2]
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if hang {
		cl.abort = s.hang(r.Context(), http.NewResponseController(w))
	}
	return http.StatusOK
}

func (s *Server) release(sc *scratch) {
	if sc.in.Cap() > maxPooledBuffer || cap(sc.out) > maxPooledBuffer {
		return
	}
	sc.in.Reset()
	s.scratch.Put(sc)
}

// stream sends c as server-sent events: the first content piece (after
// the format's opening events) after TTFT, the remaining pieces and the
// closing events sharing the rest of Latency, each at its due time from
// the request's start (piece i at TTFT + i·step, the closing events at
// max(Latency, TTFT)). Once the headers are out the status is 200 whatever
// happens, so that is what it returns. A malformed answer stops after a
// first event whose JSON is cut in half; a hanging one stops after the
// first piece and waits for the client or Close.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, cfg *Config, sc *scratch, c *completion, malformed bool, cl *call) int {
	h := w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	w.WriteHeader(http.StatusOK)

	start := cl.start
	ttft := cfg.ttft()
	end := max(cfg.Latency, ttft)
	pieces := max(1, (countWords(c.content)+cfg.ChunkWords-1)/cfg.ChunkWords)
	gaps := pieces - 1
	if c.hasStreamEnd() {
		gaps++
	}
	var step time.Duration
	if gaps > 0 {
		step = (end - ttft) / time.Duration(gaps)
	}
	hang := cfg.HangAfterFirstToken && !malformed
	var flusher *http.ResponseController
	if ttft > 0 || step > 0 || hang {
		flusher = http.NewResponseController(w)
	}

	rest := c.content
	for i := range pieces {
		if s.waitUntil(ctx, flusher, start, ttft+time.Duration(i)*step) != nil {
			return http.StatusOK
		}
		piece := rest
		if i < pieces-1 {
			n := endOfWords(rest, cfg.ChunkWords)
			piece, rest = rest[:n], rest[n:]
		}
		b := sc.out[:0]
		if i == 0 {
			b = c.appendStreamStart(b)
		}
		sc.out = c.appendStreamPiece(b, i == 0, i == pieces-1, piece)
		if malformed {
			_, _ = w.Write(cutFirstEvent(sc.out))
			return http.StatusOK
		}
		if _, err := w.Write(sc.out); err != nil {
			return http.StatusOK
		}
		if hang {
			cl.abort = s.hang(ctx, flusher)
			return http.StatusOK
		}
	}
	if !c.hasStreamEnd() {
		return http.StatusOK
	}
	if s.waitUntil(ctx, flusher, start, end) != nil {
		return http.StatusOK
	}
	sc.out = c.appendStreamEnd(sc.out[:0])
	_, _ = w.Write(sc.out)
	return http.StatusOK
}

// cutFirstEvent keeps the events in b up to the first data line, whose
// JSON it cuts in half, and ends that event there: a stream whose first
// event does not parse.
func cutFirstEvent(b []byte) []byte {
	const data = "data: "
	i := bytes.Index(b, []byte(data))
	if i < 0 {
		return b
	}
	i += len(data)
	end := bytes.IndexByte(b[i:], '\n')
	if end < 0 {
		end = len(b) - i
	}
	b = b[:i+end/2]
	return append(b, "\n\n"...)
}

// hang waits until the client goes away (false) or Close is called (true:
// the caller must abort the connection), after flushing what was written so
// that the client sees the first token.
func (s *Server) hang(ctx context.Context, flusher *http.ResponseController) bool {
	_ = flusher.Flush()
	select {
	case <-ctx.Done():
		return false
	case <-s.closing:
		return true
	}
}

// waitUntil waits until the offset at from the request's start unless ctx
// ends first. Before waiting it flushes what was written, so the client
// sees each chunk when it is "generated". Due times are absolute so that
// what one wait overshoots (timer latency, the flush, a busy host) comes
// off the next one instead of adding up over the pieces: an answer takes
// Latency plus one overshoot. With nothing to wait for (at <= 0) it neither
// flushes nor reads the clock nor touches a timer, which keeps a
// zero-latency mock fast; a piece already late is sent at once.
func (s *Server) waitUntil(ctx context.Context, flusher *http.ResponseController, start time.Time, at time.Duration) error {
	if at <= 0 {
		return ctx.Err()
	}
	if flusher != nil {
		// A writer that cannot flush still gets the whole stream at the end.
		_ = flusher.Flush()
	}
	d := start.Add(at).Sub(s.clock.Now())
	if d <= 0 {
		return ctx.Err()
	}
	return s.clock.Sleep(ctx, d)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// countWords counts whitespace-separated words without allocating, the way
// the mock counts completion tokens.
func countWords(s string) int {
	n, inWord := 0, false
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			inWord = false
		} else if !inWord {
			inWord, n = true, n+1
		}
	}
	return n
}

// endOfWords returns the index just past the n-th word of s, leading
// whitespace included, so consecutive pieces concatenate back to s.
func endOfWords(s string, n int) int {
	i := 0
	for range n {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
	}
	return i
}
