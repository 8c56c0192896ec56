package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// normOverrides drops the overrides that say what the default does
// (omit_temperature false, structured_output true, max_tokens_field
// max_tokens, an empty extra_body), as the API renders some of them, and
// is nil when none is left.
func normOverrides(o *oapi.RequestOverrides) *oapi.RequestOverrides {
	if o == nil {
		return nil
	}
	n := *o
	if n.OmitTemperature != nil && !*n.OmitTemperature {
		n.OmitTemperature = nil
	}
	if n.StructuredOutput != nil && *n.StructuredOutput {
		n.StructuredOutput = nil
	}
	if n.MaxTokensField != nil && *n.MaxTokensField == oapi.MaxTokensFieldMaxTokens {
		n.MaxTokensField = nil
	}
	if n.ExtraBody != nil && len(*n.ExtraBody) == 0 {
		n.ExtraBody = nil
	}
	if same(n, oapi.RequestOverrides{}) {
		return nil
	}
	return &n
}

func (pl *planner) models() {
	for i, m := range pl.f.models() {
		path := fmt.Sprintf("models[%d]", i)
		pl.resolves(path+".provider", KindProvider, m.Provider)
		want := m // a model is compared as the file writes it
		want.RequestOverrides = normOverrides(m.RequestOverrides)
		cur, exists := pl.st.model[strings.ToLower(m.Name)]
		if !exists {
			c := &Change{Action: Create, Kind: KindModel, Name: m.Name, Path: path}
			c.step = func(ctx context.Context, x *executor) error {
				pid, err := x.id(KindProvider, m.Provider)
				if err != nil {
					return err
				}
				out, err := x.c.CreateModel(ctx, oapi.CreateModelRequest{
					ProviderId: pid, Name: m.Name, ProviderModelId: m.ProviderModelID,
					InputCostPerMtok: m.InputCostPerMtok, OutputCostPerMtok: m.OutputCostPerMtok, RequestOverrides: want.RequestOverrides,
				})
				if err != nil {
					return err
				}
				x.set(KindModel, out.Name, out.Id)
				return nil
			}
			pl.add(c)
			continue
		}
		have := Model{Name: cur.Name, Provider: pl.st.providerName[cur.ProviderId], ProviderModelID: cur.ProviderModelId,
			InputCostPerMtok: cur.InputCostPerMtok, OutputCostPerMtok: cur.OutputCostPerMtok, RequestOverrides: normOverrides(&cur.RequestOverrides)}
		fields := diff("", have, want)
		var in oapi.UpdateModelRequest
		for _, fc := range fields {
			switch fc.Field {
			case "name":
				in.Name = &want.Name
			case "provider":
				if !strings.EqualFold(have.Provider, want.Provider) {
					pl.bad(path+".provider", "a model's provider cannot change (%s on the server): give the model another name", have.Provider)
				}
			case "provider_model_id":
				in.ProviderModelId = &want.ProviderModelID
			case "input_cost_per_mtok":
				in.InputCostPerMtok = &want.InputCostPerMtok
			case "output_cost_per_mtok":
				in.OutputCostPerMtok = &want.OutputCostPerMtok
			case "request_overrides":
				o := oapi.RequestOverrides{}
				if want.RequestOverrides != nil {
					o = *want.RequestOverrides
				}
				in.RequestOverrides = &o
			}
		}
		// A provider named in another case is the same provider.
		fields = dropField(fields, "provider", strings.EqualFold(have.Provider, want.Provider))
		id := cur.Id
		pl.update(KindModel, m.Name, path, fields, func(ctx context.Context, x *executor) error {
			_, err := x.c.UpdateModel(ctx, id, in)
			return err
		})
	}
	for _, cur := range pl.st.models {
		if !pl.pruned(KindModel, cur.Name) {
			continue
		}
		id := cur.Id
		pl.prunes[KindModel] = append(pl.prunes[KindModel], &Change{Action: Archive, Kind: KindModel, Name: cur.Name,
			step: func(ctx context.Context, x *executor) error { return x.c.DeleteModel(ctx, id) }})
	}
}

// dropField removes the change of field from fields when drop.
func dropField(fields []FieldChange, field string, drop bool) []FieldChange {
	if !drop {
		return fields
	}
	out := fields[:0]
	for _, f := range fields {
		if f.Field != field {
			out = append(out, f)
		}
	}
	return out
}
