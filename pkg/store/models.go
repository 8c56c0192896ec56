package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

func modelFromRow(r dbsqlc.Model) catalog.Model {
	m := catalog.Model{
		ID: r.ID, ProviderID: r.ProviderID, Name: r.Name, ProviderModelID: r.ProviderModelID,
		InputCostPerMTok: r.InputCostPerMtok, OutputCostPerMTok: r.OutputCostPerMtok,
		ArchivedAt: r.ArchivedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	_ = json.Unmarshal(r.RequestOverrides, &m.Overrides)
	return m
}

// CreateModel stores a model of an existing provider.
func (s *Store) CreateModel(ctx context.Context, m catalog.Model) (*catalog.Model, error) {
	var row dbsqlc.Model
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		var err error
		row, err = q.CreateModel(ctx, dbsqlc.CreateModelParams{
			ID: newID(), ProviderID: m.ProviderID, Name: m.Name, ProviderModelID: m.ProviderModelID,
			InputCostPerMtok: m.InputCostPerMTok, OutputCostPerMtok: m.OutputCostPerMTok,
			RequestOverrides: catalog.MarshalOverrides(m.Overrides),
		})
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" {
			return fault.Invalid("provider_id", "provider not found")
		}
		if err != nil {
			return conflict(err, "a model with this name")
		}
		return auditChange(ctx, q, audit.ActionModelCreate, audit.ResourceModel, row.ID.String(), "")
	})
	if err != nil {
		return nil, err
	}
	out := modelFromRow(row)
	return &out, nil
}

// GetModel returns a model, archived or not.
func (s *Store) GetModel(ctx context.Context, id uuid.UUID) (*catalog.Model, error) {
	row, err := s.q.GetModel(ctx, id)
	if err != nil {
		return nil, notFound(err, "model")
	}
	m := modelFromRow(row)
	return &m, nil
}

// ListModels returns a page of models in creation order.
func (s *Store) ListModels(ctx context.Context, includeArchived bool, limit int, cursor string) (Page[catalog.Model], error) {
	return listPage(cursor, limit, func(after *uuid.UUID, lim int32) ([]dbsqlc.Model, error) {
		return s.q.ListModels(ctx, dbsqlc.ListModelsParams{After: after, IncludeArchived: includeArchived, Lim: lim})
	}, modelFromRow, func(r dbsqlc.Model) uuid.UUID { return r.ID })
}

// UpdateModel changes a model that is not archived. Runs keep the snapshot
// they were created with, so this never changes past results.
func (s *Store) UpdateModel(ctx context.Context, id uuid.UUID, p catalog.ModelPatch) (*catalog.Model, error) {
	arg := dbsqlc.UpdateModelParams{
		ID: id, Name: p.Name, ProviderModelID: p.ProviderModelID,
		InputCostPerMtok: p.InputCostPerMTok, OutputCostPerMtok: p.OutputCostPerMTok,
	}
	if p.Overrides != nil {
		arg.RequestOverrides = catalog.MarshalOverrides(*p.Overrides)
	}
	reason := changedFields("name", setIf(p.Name != nil), "provider_model_id", setIf(p.ProviderModelID != nil),
		"input_cost_per_mtok", setIf(p.InputCostPerMTok != nil), "output_cost_per_mtok", setIf(p.OutputCostPerMTok != nil),
		"request_overrides", setIf(p.Overrides != nil))
	var row dbsqlc.Model
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		var err error
		row, err = q.UpdateModel(ctx, arg)
		if err != nil {
			return conflict(notFoundOrFrozen(err, "model", func() (*time.Time, error) {
				m, err := q.GetModel(ctx, id)
				return m.ArchivedAt, err
			}), "a model with this name")
		}
		return auditChange(ctx, q, audit.ActionModelUpdate, audit.ResourceModel, id.String(), reason)
	})
	if err != nil {
		return nil, err
	}
	m := modelFromRow(row)
	return &m, nil
}

// DeleteModel deletes a model without history, or archives one that a
// benchmark or run refers to. It reports whether it archived. A model
// that benchmarks with an enabled schedule use is refused with an
// *catalog.InUseError naming them, unless force: then those schedules
// show as blocked until the model is replaced.
func (s *Store) DeleteModel(ctx context.Context, id uuid.UUID, force bool) (archived bool, err error) {
	err = s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if _, err := q.GetModel(ctx, id); err != nil {
			return notFound(err, "model")
		}
		if !force {
			users, err := q.ScheduledBenchmarksUsingModel(ctx, id)
			if err := inUse("model", users, err); err != nil {
				return err
			}
		}
		hist, err := q.ModelHasHistory(ctx, id)
		if err != nil {
			return err
		}
		reason := ""
		if deref(hist) {
			archived, reason = true, "archived: has history"
			if force {
				reason += " (forced)"
			}
			_, err = q.ArchiveModel(ctx, id)
		} else {
			_, err = q.DeleteModel(ctx, id)
		}
		if err != nil {
			return err
		}
		return auditChange(ctx, q, audit.ActionModelDelete, audit.ResourceModel, id.String(), reason)
	})
	return archived, err
}

// inUse is the refusal to archive a resource that the enabled schedules
// of benchmarks rows depend on (nil when there are none), or err, the
// error of listing them.
func inUse[R ~struct {
	ID   uuid.UUID
	Name string
}](resource string, rows []R, err error) error {
	if err != nil || len(rows) == 0 {
		return err
	}
	e := &catalog.InUseError{Resource: resource, Benchmarks: make([]catalog.BenchmarkRef, len(rows))}
	for i, r := range rows {
		e.Benchmarks[i] = catalog.BenchmarkRef(r)
	}
	return e
}
