package apply

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/secrets"
)

// providerView is what a plan compares of a provider, besides its
// secrets (the key by fingerprint, headers by name).
type providerView struct {
	Name    string               `json:"name"`
	Kind    oapi.ProviderKind    `json:"kind"`
	BaseURL string               `json:"base_url"`
	Limits  *oapi.ProviderLimits `json:"limits,omitempty"`
}

// normLimits drops the limits that are 0 (no limit), and is nil when
// none is left: the API renders every limit, the file only the set ones.
func normLimits(l *oapi.ProviderLimits) *oapi.ProviderLimits {
	if l == nil {
		return nil
	}
	nz := func(p *int) *int {
		if p == nil || *p == 0 {
			return nil
		}
		return p
	}
	out := oapi.ProviderLimits{
		MaxConcurrency:    nz(l.MaxConcurrency),
		QuotaPauseSeconds: nz(l.QuotaPauseSeconds),
		RequestsPerMinute: nz(l.RequestsPerMinute),
		TokensPerMinute:   nz(l.TokensPerMinute),
	}
	if out == (oapi.ProviderLimits{}) {
		return nil
	}
	return &out
}

func (pl *planner) providers() {
	for i, p := range pl.f.providers() {
		path := fmt.Sprintf("providers[%d]", i)
		cur, exists := pl.st.provider[strings.ToLower(p.Name)]
		key, headers, ok := pl.providerSecrets(path, p, func(h string) bool { return !exists || !hasHeader(cur.Headers, h) })
		if !ok {
			continue
		}
		want := providerView{Name: p.Name, Kind: p.Kind, BaseURL: p.BaseURL, Limits: normLimits(p.Limits)}
		if !exists {
			c := &Change{Action: Create, Kind: KindProvider, Name: p.Name, Path: path}
			in := oapi.CreateProviderRequest{Name: p.Name, Kind: p.Kind, BaseUrl: p.BaseURL, ApiKey: key, Limits: want.Limits}
			if len(headers) > 0 {
				h := oapi.ProviderHeaders(headers)
				in.Headers = &h
			}
			c.step = func(ctx context.Context, x *executor) error {
				out, err := x.c.CreateProvider(ctx, in)
				if err != nil {
					return err
				}
				x.set(KindProvider, out.Name, out.Id)
				return nil
			}
			pl.add(c)
			continue
		}
		have := providerView{Name: cur.Name, Kind: cur.Kind, BaseURL: cur.BaseUrl, Limits: normLimits(&cur.Limits)}
		fields := diff("", have, want)
		var in oapi.UpdateProviderRequest
		for _, fc := range fields {
			switch fc.Field {
			case "name":
				in.Name = &want.Name
			case "kind":
				pl.bad(path+".kind", "a provider's kind cannot change (%s on the server): give the new one another name", cur.Kind)
			case "base_url":
				in.BaseUrl = &want.BaseURL
			case "limits":
				l := oapi.ProviderLimits{}
				if want.Limits != nil {
					l = *want.Limits
				}
				// 0 lifts a limit: send every one, as limits replace as a whole.
				zero := 0
				for _, f := range []**int{&l.MaxConcurrency, &l.QuotaPauseSeconds, &l.RequestsPerMinute, &l.TokensPerMinute} {
					if *f == nil {
						*f = &zero
					}
				}
				in.Limits = &l
			}
		}
		// The key: by fingerprint, since the API never returns it. A
		// stored key without a fingerprint cannot be compared: it is sent.
		switch {
		case key == "" && cur.HasApiKey:
			in.ApiKey = &key
			fields = append(fields, FieldChange{Field: "api_key", Old: "(set)", New: "(none)"})
		case key != "" && !cur.HasApiKey:
			in.ApiKey = &key
			fields = append(fields, FieldChange{Field: "api_key", Old: "(none)", New: "(set)"})
		case key != "" && (cur.ApiKeyFingerprint == nil || *cur.ApiKeyFingerprint != secrets.KeyFingerprint(key)):
			in.ApiKey = &key
			fields = append(fields, FieldChange{Field: "api_key", Old: "(set)", New: "(changed)"})
		}
		// Headers: values are never returned, so a header is sent when
		// its name is new, and removed when the file drops it.
		patch := oapi.ProviderHeadersPatch{}
		for _, name := range sortedKeys(headers) {
			if !hasHeader(cur.Headers, name) {
				v := headers[name]
				patch[name] = &v
				fields = append(fields, FieldChange{Field: "headers." + name, Old: "(none)", New: "(set)"})
			}
		}
		for _, name := range sortedKeys(cur.Headers) {
			if !hasHeader(headers, name) {
				patch[name] = nil
				fields = append(fields, FieldChange{Field: "headers." + name, Old: "(set)", New: "(none)"})
			}
		}
		if len(patch) > 0 {
			in.Headers = &patch
		}
		pl.update(KindProvider, p.Name, path, fields, func(ctx context.Context, x *executor) error {
			_, err := x.c.UpdateProvider(ctx, cur.Id, in)
			return err
		})
	}
	for _, cur := range pl.st.providers {
		if !pl.pruned(KindProvider, cur.Name) {
			continue
		}
		id := cur.Id
		c := &Change{Action: Archive, Kind: KindProvider, Name: cur.Name}
		c.step = func(ctx context.Context, x *executor) error {
			err := x.c.DeleteProvider(ctx, id)
			if client.StatusOf(err) == http.StatusConflict {
				// Archived models keep their provider for their history.
				c.Note = "kept: models (archived ones too) still refer to it"
				return nil
			}
			return err
		}
		pl.prunes[KindProvider] = append(pl.prunes[KindProvider], c)
	}
}

// providerSecrets resolves the provider's ${ENV_VAR} references: its key
// always (its fingerprint tells whether it changed), and the values of
// the headers sent (all of them for a new provider; the new names of an
// existing one, since header values are never returned to compare).
// ok is false when a variable is unset: a problem naming it is recorded.
func (pl *planner) providerSecrets(path string, p Provider, send func(header string) bool) (key string, headers map[string]string, ok bool) {
	ok = true
	expand := func(field, s string) string {
		v, err := pl.o.Expand(s)
		if err != nil {
			pl.bad(path+"."+field, "%v", err)
			ok = false
		}
		return v
	}
	if p.APIKey != "" {
		key = expand("api_key", p.APIKey)
	}
	headers = make(map[string]string, len(p.Headers))
	for _, name := range sortedKeys(p.Headers) {
		v := p.Headers[name]
		if send(name) {
			v = expand("headers."+name, v)
		}
		headers[name] = v
	}
	return key, headers, ok
}

// update adds an Update change with fields, or Unchanged when there are
// none.
func (pl *planner) update(k Kind, name, path string, fields []FieldChange, step func(context.Context, *executor) error) *Change {
	c := &Change{Action: Unchanged, Kind: k, Name: name, Path: path}
	if len(fields) > 0 {
		c.Action, c.Fields, c.step = Update, fields, step
	}
	pl.add(c)
	return c
}

func hasHeader[V any](h map[string]V, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
