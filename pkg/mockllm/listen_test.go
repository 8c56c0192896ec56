package mockllm_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

func TestListen(t *testing.T) {
	t.Parallel()

	t.Run("Stop", func(t *testing.T) {
		t.Parallel()
		inst, err := mockllm.Listen(t.Context(), "127.0.0.1:0", mockllm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		f := fixture{mock: inst.Server, url: inst.URL}
		if resp, _ := f.post(t, "/v1/chat/completions", chatBody("mock-strong", "What is 1 + 2?", "")); resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
		if inst.Server.Requests() != 1 {
			t.Errorf("Requests() = %d, want 1", inst.Server.Requests())
		}
		if err := inst.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := inst.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		<-inst.Done()
		if _, err := http.Get(inst.URL + "/healthz"); err == nil {
			t.Error("the instance still answers after Stop")
		}
	})

	t.Run("ContextCancel", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		inst, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		<-inst.Done()
		if err := inst.Stop(); err != nil {
			t.Errorf("Stop after cancel: %v", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		if _, err := mockllm.Listen(t.Context(), "127.0.0.1:0", mockllm.Config{ErrorRate: 2}); err == nil {
			t.Error("Listen accepted ErrorRate 2")
		}
		if _, err := mockllm.Listen(t.Context(), "127.0.0.1:-1", mockllm.Config{}); err == nil {
			t.Error("Listen accepted port -1")
		}
	})
}
