package provider_test

import (
	"fmt"
	"testing"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
)

func TestNewClients(t *testing.T) {
	t.Parallel()
	clients := provider.NewClients(provider.ClientConfig{})
	for kind, want := range map[catalog.ProviderKind]string{
		catalog.KindOpenAI:    "*provider.OpenAI",
		catalog.KindAnthropic: "*provider.Anthropic",
		catalog.KindGoogle:    "*provider.Google",
	} {
		if got := fmt.Sprintf("%T", clients[kind]); got != want {
			t.Errorf("clients[%q] is %s, want %s", kind, got, want)
		}
	}
	if len(clients) != 3 {
		t.Errorf("%d clients, want 3", len(clients))
	}
}
