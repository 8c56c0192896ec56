package provider_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

// anthropicModelPage writes one page of an endless Anthropic model list:
// n models whose display names are pad bytes long, and always more.
func anthropicModelPage(w http.ResponseWriter, r *http.Request, n, pad int) {
	after := r.URL.Query().Get("after_id")
	var b strings.Builder
	b.WriteString(`{"data":[`)
	name := strings.Repeat("x", pad)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"m%s-%d","type":"model","display_name":%q}`, after, i, name)
	}
	fmt.Fprintf(&b, `],"has_more":true,"first_id":"m%s-0","last_id":"m%s-%d"}`, after, after, n-1)
	writeJSON(w, http.StatusOK, b.String())
}

// TestAnthropic_ListModelsBudget: the pages of one model list share one
// byte budget. Each page of 3 MiB was under its own 32 MiB cap, so 20 of
// them (60 MiB) were read and decoded for one request.
func TestAnthropic_ListModelsBudget(t *testing.T) {
	t.Parallel()
	f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
		anthropicModelPage(w, r, 3, 1<<20)
	})
	models, err := newAnthropic(provider.ClientConfig{}).ListModels(t.Context(), provider.Endpoint{BaseURL: f.srv.URL, APIKey: testKey})
	if err == nil || !strings.Contains(err.Error(), "all pages together") {
		t.Fatalf("ListModels = %d models, %v; want the shared budget's error", len(models), err)
	}
	if hits := f.hits.Load(); hits > 3 {
		t.Errorf("%d pages requested; an 8 MiB budget is spent by the third", hits)
	}
}

// TestListModels_CountBound: a list is cut at MaxRemoteModels (one more is
// returned to say so), and no further page is asked for.
func TestListModels_CountBound(t *testing.T) {
	t.Parallel()

	t.Run("Anthropic", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
			anthropicModelPage(w, r, 1000, 0)
		})
		models, err := newAnthropic(provider.ClientConfig{}).ListModels(t.Context(), provider.Endpoint{BaseURL: f.srv.URL, APIKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		if len(models) != provider.MaxRemoteModels+1 {
			t.Errorf("%d models, want %d", len(models), provider.MaxRemoteModels+1)
		}
		if want := int32(provider.MaxRemoteModels/1000 + 1); f.hits.Load() != want {
			t.Errorf("%d pages requested, want %d", f.hits.Load(), want)
		}
	})

	t.Run("OpenAI", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
			var b strings.Builder
			b.WriteString(`{"object":"list","data":[`)
			for i := range 3 * provider.MaxRemoteModels {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"id":"m-%d","object":"model"}`, i)
			}
			b.WriteString(`]}`)
			writeJSON(w, http.StatusOK, b.String())
		})
		models, err := newClient(provider.ClientConfig{}).ListModels(t.Context(), provider.Endpoint{BaseURL: f.baseURL(), APIKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		if len(models) != provider.MaxRemoteModels+1 || models[0].ID != "m-0" {
			t.Errorf("%d models from m-0? %v, want %d", len(models), len(models) > 0 && models[0].ID == "m-0", provider.MaxRemoteModels+1)
		}
	})
}
