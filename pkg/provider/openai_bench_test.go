package provider_test

import (
	"fmt"
	"testing"

	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/provider"
)

// BenchmarkOpenAI_Complete measures one streamed chat completion against
// mockllm on loopback, the worker's hottest call. The mock runs in the same
// process, so its cost is part of every figure.
func BenchmarkOpenAI_Complete(b *testing.B) {
	mock, err := mockllm.Listen(b.Context(), "127.0.0.1:0", mockllm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = mock.Stop() }()
	client := provider.NewOpenAI(provider.ClientConfig{HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})})
	prompt, ans := mockllm.Question(7)
	temp, seed := 0.0, int64(0)
	req := provider.Request{BaseURL: mock.URL + "/v1", APIKey: testKey, Model: "mock-perfect", Prompt: prompt,
		System: "Answer briefly.", Temperature: &temp, MaxTokens: 64, Seed: &seed}
	want := fmt.Sprintf("The answer is %d.", ans)
	b.ReportAllocs()
	for b.Loop() {
		res, err := client.Complete(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		if res.Text != want || res.FinishReason == "" || res.OutputTokens == 0 {
			b.Fatalf("res = %+v, want %q with a finish reason and usage", res, want)
		}
	}
}
