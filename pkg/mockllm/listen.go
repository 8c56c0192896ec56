package mockllm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// ShutdownTimeout bounds how long Stop waits for in-flight responses (slow
// streams included) before it closes their connections.
const ShutdownTimeout = 5 * time.Second

// Instance is a Server listening on a TCP address: how the mockllm binary,
// `sabe dev` and end-to-end tests run the mock in-process.
type Instance struct {
	// URL is the base URL of the bound address, such as
	// "http://127.0.0.1:41234"; OpenAI clients want URL + "/v1", the
	// Anthropic and Gemini SDKs want URL itself.
	URL string
	// Server gives access to the request counters, the request log and
	// SetConfig.
	Server *Server

	http       *http.Server
	done       chan struct{}
	serveErr   error
	stopOnce   sync.Once
	stopErr    error
	stopOnDone func() bool
}

// Listen starts serving cfg on addr (":0" and "127.0.0.1:0" pick a free
// port; URL tells which). The instance stops when ctx ends or Stop is
// called, whichever comes first.
func Listen(ctx context.Context, addr string, cfg Config) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := New(cfg)
	inst := &Instance{
		URL:    "http://" + ln.Addr().String(),
		Server: srv,
		http: &http.Server{
			Handler:           srv,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(inst.done)
		if err := inst.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			inst.serveErr = fmt.Errorf("serve %s: %w", inst.URL, err)
		}
	}()
	inst.stopOnDone = context.AfterFunc(ctx, func() { _ = inst.Stop() })
	return inst, nil
}

// Done is closed when the instance has stopped serving, whether through
// Stop, its context, or a failure that Stop then reports.
func (i *Instance) Done() <-chan struct{} {
	return i.done
}

// Stop shuts the instance down gracefully: it stops accepting, aborts the
// responses that hang on purpose (see Server.Close), lets the other
// in-flight responses finish for up to ShutdownTimeout, then closes what is
// left (whose request contexts end, cutting slow streams short). It returns
// a serving failure or the timeout, and is safe to call more than once and
// concurrently; later calls wait for the first and return its result.
func (i *Instance) Stop() error {
	i.stopOnce.Do(func() {
		i.stopOnDone()
		i.Server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		err := i.http.Shutdown(ctx)
		if err != nil {
			err = errors.Join(fmt.Errorf("shut down %s: %w", i.URL, err), i.http.Close())
		}
		<-i.done
		i.stopErr = errors.Join(i.serveErr, err)
	})
	return i.stopErr
}
