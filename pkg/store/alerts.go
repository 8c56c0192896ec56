package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/pkg/alerting"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

var _ alerting.Store = (*Store)(nil)

// AlertCheckRun returns a run and its benchmark's alert settings.
func (s *Store) AlertCheckRun(ctx context.Context, runID uuid.UUID) (alerting.CheckRun, error) {
	r, err := s.q.AlertCheckRun(ctx, runID)
	if err != nil {
		return alerting.CheckRun{}, notFound(err, "run")
	}
	return alerting.CheckRun{
		ID: r.ID, BenchmarkID: r.BenchmarkID, BenchmarkName: r.BenchmarkName, Status: r.Status,
		CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, Settings: alertSettings(r.Alerts),
	}, nil
}

// AlertChecked reports whether the run has its check already.
func (s *Store) AlertChecked(ctx context.Context, runID uuid.UUID) (bool, error) {
	return s.q.AlertCheckExists(ctx, runID)
}

// AlertBaseline returns the newest run of the benchmark other than runID,
// created before createdBefore, that finished completed or partial; nil
// when there is none.
func (s *Store) AlertBaseline(ctx context.Context, benchmarkID, runID uuid.UUID, createdBefore time.Time) (*uuid.UUID, error) {
	id, err := s.q.AlertBaselineRun(ctx, dbsqlc.AlertBaselineRunParams{BenchmarkID: benchmarkID, RunID: runID, CreatedBefore: createdBefore})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("alert baseline: %w", err)
	}
	return &id, nil
}

// RecordAlertCheck writes a run's check, its alerts and a
// regression.detected event per alert (the outbox) in one transaction;
// it writes nothing and reports false when the run has a check already.
func (s *Store) RecordAlertCheck(ctx context.Context, rec alerting.CheckRecord) (bool, error) {
	written := false
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		var note *string
		if rec.Note != "" {
			note = &rec.Note
		}
		n, err := q.InsertAlertCheck(ctx, dbsqlc.InsertAlertCheckParams{
			RunID: rec.RunID, BenchmarkID: rec.BenchmarkID, BaselineRunID: rec.BaselineRunID,
			Comparisons: int32(rec.Comparisons), Alerts: int32(len(rec.Alerts)), Note: note, CheckedAt: rec.CheckedAt,
		})
		if err != nil || n == 0 {
			return err
		}
		for _, a := range rec.Alerts {
			if err := q.InsertAlert(ctx, dbsqlc.InsertAlertParams{
				ID: a.ID, RunID: a.RunID, BaselineRunID: a.BaselineRunID, BenchmarkID: a.BenchmarkID, ModelID: a.ModelID,
				Metric: a.Metric, Previous: a.Previous, Current: a.Current, Diff: a.Diff, CiLow: a.CILow, CiHigh: a.CIHigh,
				RelativeChange: a.RelativeChange, PValue: a.PValue, PAdjusted: a.PAdjusted, Comparisons: int32(a.Comparisons),
				MinEffect: a.MinEffect, Questions: int32(a.Questions), Regressed: int32(a.Regressed), Improved: int32(a.Improved),
				Flipped: mustJSON(a.Flipped), CreatedAt: a.CreatedAt,
			}); err != nil {
				return err
			}
			benchmarkID := a.BenchmarkID
			if _, err := q.InsertEvent(ctx, dbsqlc.InsertEventParams{
				ID: newID(), Type: notify.RegressionDetected, OccurredAt: a.CreatedAt, BenchmarkID: &benchmarkID,
				DedupKey: fmt.Sprintf("%s:%s:%s:%s", notify.RegressionDetected, a.RunID, a.ModelID, a.Metric),
				Payload:  mustJSON(a),
			}); err != nil {
				return err
			}
		}
		written = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record alert check of run %s: %w", rec.RunID, err)
	}
	return written, nil
}

// UncheckedAlertRuns returns up to limit runs finished completed or
// partial since finishedAfter, of benchmarks with enabled alerts, that
// have no check; oldest first.
func (s *Store) UncheckedAlertRuns(ctx context.Context, finishedAfter time.Time, limit int) ([]uuid.UUID, error) {
	ids, err := s.q.UncheckedAlertRuns(ctx, dbsqlc.UncheckedAlertRunsParams{FinishedAfter: finishedAfter, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("unchecked alert runs: %w", err)
	}
	return ids, nil
}

// AlertCheck is a run's check as stored.
type AlertCheck struct {
	RunID, BenchmarkID       uuid.UUID
	BaselineRunID            *uuid.UUID
	Comparisons, AlertsCount int
	Note                     string
	CheckedAt                time.Time
}

// GetAlertCheck returns a run's check; fault.NotFound when it has none.
func (s *Store) GetAlertCheck(ctx context.Context, runID uuid.UUID) (AlertCheck, error) {
	r, err := s.q.GetAlertCheck(ctx, runID)
	if err != nil {
		return AlertCheck{}, notFound(err, "alert check")
	}
	return AlertCheck{
		RunID: r.RunID, BenchmarkID: r.BenchmarkID, BaselineRunID: r.BaselineRunID, Comparisons: int(r.Comparisons),
		AlertsCount: int(r.Alerts), Note: deref(r.Note), CheckedAt: r.CheckedAt,
	}, nil
}

// AlertFilter selects alerts; zero fields do not filter. From is
// inclusive, To exclusive.
type AlertFilter struct {
	BenchmarkID, ModelID, RunID *uuid.UUID
	Metric                      string
	From, To                    time.Time
}

// GetAlert returns an alert with its benchmark's and model's names;
// fault.NotFound for an unknown id.
func (s *Store) GetAlert(ctx context.Context, id uuid.UUID) (*notify.Regression, error) {
	r, err := s.q.GetAlert(ctx, id)
	if err != nil {
		return nil, notFound(err, "alert")
	}
	a := alertFromRow(dbsqlc.ListAlertsRow(r))
	return &a, nil
}

// ListAlerts returns a page of alerts, newest first.
func (s *Store) ListAlerts(ctx context.Context, f AlertFilter, limit int, cursor string) (Page[notify.Regression], error) {
	lim := pageSize(limit)
	arg := dbsqlc.ListAlertsParams{
		BenchmarkID: f.BenchmarkID, ModelID: f.ModelID, RunID: f.RunID, Metric: optString(f.Metric),
		FromTime: optTime(f.From), ToTime: optTime(f.To), Lim: lim + 1,
	}
	if cursor != "" {
		t, id, err := decodeAuditCursor(cursor)
		if err != nil {
			return Page[notify.Regression]{}, err
		}
		arg.HasCursor, arg.BeforeTime, arg.BeforeID = true, t, id
	}
	rows, err := s.q.ListAlerts(ctx, arg)
	if err != nil {
		return Page[notify.Regression]{}, fmt.Errorf("list alerts: %w", err)
	}
	p := Page[notify.Regression]{Items: make([]notify.Regression, 0, min(len(rows), int(lim)))}
	for i, r := range rows {
		if i == int(lim) {
			last := rows[i-1]
			p.Next = encodeAuditCursor(last.CreatedAt, last.ID)
			break
		}
		p.Items = append(p.Items, alertFromRow(r))
	}
	return p, nil
}

func alertFromRow(r dbsqlc.ListAlertsRow) notify.Regression {
	a := notify.Regression{
		ID: r.ID, RunID: r.RunID, BaselineRunID: r.BaselineRunID, BenchmarkID: r.BenchmarkID, BenchmarkName: deref(r.BenchmarkName),
		ModelID: r.ModelID, ModelName: deref(r.ModelName), Metric: r.Metric, Previous: r.Previous, Current: r.Current,
		Diff: r.Diff, CILow: r.CiLow, CIHigh: r.CiHigh, RelativeChange: r.RelativeChange, PValue: r.PValue,
		PAdjusted: r.PAdjusted, Correction: alerting.Correction, Comparisons: int(r.Comparisons), MinEffect: r.MinEffect,
		Questions: int(r.Questions), Regressed: int(r.Regressed), Improved: int(r.Improved), CreatedAt: r.CreatedAt,
		Flipped: []notify.FlippedQuestion{},
	}
	if err := json.Unmarshal(r.Flipped, &a.Flipped); err != nil || a.Flipped == nil {
		a.Flipped = []notify.FlippedQuestion{}
	}
	return a
}
