package store

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

var _ audit.Writer = (*Store)(nil)

// auditChange appends the audit row of a change made through q, so it
// commits or rolls back with the change. The actor comes from ctx.
// reason must never carry a secret: say which fields changed, not to what.
func auditChange(ctx context.Context, q *dbsqlc.Queries, action, resourceType, resourceID, reason string) error {
	return q.InsertAudit(ctx, auditParams(newAuditEvent(ctx, action, resourceType, resourceID, reason)))
}

func newAuditEvent(ctx context.Context, action, resourceType, resourceID, reason string) audit.Event {
	return audit.Event{
		ID: newID(), Time: time.Now().UTC().Truncate(time.Microsecond), Actor: audit.ActorFrom(ctx),
		Action: action, ResourceType: resourceType, ResourceID: resourceID, Outcome: audit.OutcomeSuccess, Reason: reason,
	}
}

func auditParams(e audit.Event) dbsqlc.InsertAuditParams {
	return dbsqlc.InsertAuditParams{
		ID: e.ID, Time: e.Time, TokenID: e.Actor.TokenID, TokenName: e.Actor.TokenName,
		Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Outcome: e.Outcome, Reason: e.Reason,
		SourceIp: e.Actor.SourceIP, UserAgent: e.Actor.UserAgent, RequestID: e.Actor.RequestID,
	}
}

func auditFromRow(r dbsqlc.AuditLog) audit.Event {
	return audit.Event{
		ID: r.ID, Time: r.Time.UTC(),
		Actor: audit.Actor{
			TokenID: r.TokenID, TokenName: r.TokenName, SourceIP: r.SourceIp, UserAgent: r.UserAgent, RequestID: r.RequestID,
		},
		Action: r.Action, ResourceType: r.ResourceType, ResourceID: r.ResourceID, Outcome: r.Outcome, Reason: r.Reason,
	}
}

// changedFields names the fields a patch sets, for an update's reason.
func changedFields(names ...string) string {
	set := make([]string, 0, len(names)/2)
	for i := 0; i+1 < len(names); i += 2 {
		if names[i+1] != "" {
			set = append(set, names[i])
		}
	}
	if len(set) == 0 {
		return "no fields changed"
	}
	return "changed: " + strings.Join(set, ", ")
}

// setIf returns "set" when the patch field is present, for changedFields.
func setIf(present bool) string {
	if present {
		return "set"
	}
	return ""
}

// InsertAudit appends an event that is not part of a change: an
// authentication or authorization failure, recorded by audit.Recorder.
// Zero ID and Time are filled in; the actor is the event's own.
func (s *Store) InsertAudit(ctx context.Context, e audit.Event) error {
	if e.ID == uuid.Nil {
		e.ID = newID()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.Actor.TokenName == "" && e.Actor.TokenID == nil {
		e.Actor.TokenName = audit.SystemActor
	}
	if err := s.q.InsertAudit(ctx, auditParams(e)); err != nil {
		return fmt.Errorf("insert audit event %s: %w", e.Action, err)
	}
	return nil
}

// AuditFilter narrows ListAudit; zero fields match everything. From is
// inclusive, To exclusive.
type AuditFilter struct {
	Action       string
	ResourceType string
	ResourceID   string
	TokenID      *uuid.UUID
	Outcome      string
	From         time.Time
	To           time.Time
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ListAudit returns a page of audit events, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter, limit int, cursor string) (Page[audit.Event], error) {
	lim := pageSize(limit)
	arg := dbsqlc.ListAuditParams{
		Action: optString(f.Action), ResourceType: optString(f.ResourceType), ResourceID: optString(f.ResourceID),
		TokenID: f.TokenID, Outcome: optString(f.Outcome), FromTime: optTime(f.From), ToTime: optTime(f.To), Lim: lim + 1,
	}
	if cursor != "" {
		t, id, err := decodeAuditCursor(cursor)
		if err != nil {
			return Page[audit.Event]{}, err
		}
		arg.HasCursor, arg.BeforeTime, arg.BeforeID = true, t, id
	}
	rows, err := s.q.ListAudit(ctx, arg)
	if err != nil {
		return Page[audit.Event]{}, fmt.Errorf("list audit: %w", err)
	}
	p := Page[audit.Event]{Items: make([]audit.Event, 0, min(len(rows), int(lim)))}
	for i, r := range rows {
		if i == int(lim) {
			last := rows[i-1]
			p.Next = encodeAuditCursor(last.Time, last.ID)
			break
		}
		p.Items = append(p.Items, auditFromRow(r))
	}
	return p, nil
}

// The audit cursor is the last row's time (microseconds since the epoch,
// PostgreSQL's precision) and id.
func encodeAuditCursor(t time.Time, id uuid.UUID) string {
	b := make([]byte, 8, 24)
	binary.BigEndian.PutUint64(b, uint64(t.UnixMicro()))
	return base64.RawURLEncoding.EncodeToString(append(b, id[:]...))
}

func decodeAuditCursor(c string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 24 {
		return time.Time{}, uuid.Nil, fault.BadRequest("cursor", "invalid cursor")
	}
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b))).UTC(), uuid.UUID(b[8:]), nil
}

// DeleteAuditBefore deletes at most batch audit rows older than cutoff,
// oldest first, in one short transaction, and returns how many it deleted.
// It is the only delete the table's append-only trigger lets through.
func (s *Store) DeleteAuditBefore(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	var n int64
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if err := q.AllowAuditRetention(ctx, cutoff.UTC().Format(time.RFC3339Nano)); err != nil {
			return err
		}
		var err error
		n, err = q.DeleteAuditBefore(ctx, dbsqlc.DeleteAuditBeforeParams{Cutoff: cutoff, Lim: int32(batch)})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete audit rows before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}
