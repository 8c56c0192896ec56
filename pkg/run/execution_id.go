package run

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
)

// ExecutionID names one unit of one run from the outside (the results'
// `id`, PUT /v1/executions/{id}/review). Its text form is opaque and
// URL-safe: base64url without padding of run uuid ‖ model uuid ‖ question
// uuid ‖ big-endian uint32 sample, so a unit is found by its primary key
// without a lookup table.
type ExecutionID struct {
	RunID      uuid.UUID
	ModelID    uuid.UUID
	QuestionID uuid.UUID
	Sample     int
}

const executionIDBytes = 3*16 + 4

// String is the opaque text form of id.
func (id ExecutionID) String() string {
	var b [executionIDBytes]byte
	copy(b[0:16], id.RunID[:])
	copy(b[16:32], id.ModelID[:])
	copy(b[32:48], id.QuestionID[:])
	binary.BigEndian.PutUint32(b[48:], uint32(id.Sample))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// MarshalText is String, so an ExecutionID is a string in JSON.
func (id ExecutionID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText is ParseExecutionID.
func (id *ExecutionID) UnmarshalText(b []byte) error {
	v, err := ParseExecutionID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseExecutionID reads the text form of an ExecutionID; fault.Invalid
// (field "id") when s is not one.
func ParseExecutionID(s string) (ExecutionID, error) {
	if len(s) != base64.RawURLEncoding.EncodedLen(executionIDBytes) {
		return ExecutionID{}, fault.Invalid("id", "not an execution id")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != executionIDBytes {
		return ExecutionID{}, fault.Invalid("id", "not an execution id")
	}
	sample := binary.BigEndian.Uint32(b[48:])
	if sample > maxSample {
		return ExecutionID{}, fault.Invalid("id", "not an execution id")
	}
	var id ExecutionID
	copy(id.RunID[:], b[0:16])
	copy(id.ModelID[:], b[16:32])
	copy(id.QuestionID[:], b[32:48])
	id.Sample = int(sample)
	return id, nil
}

// maxSample keeps a parsed sample a non-negative int32, as the database
// stores it.
const maxSample = 1<<31 - 1

// ID is the execution's ExecutionID.
func (e *Execution) ID() ExecutionID {
	return ExecutionID{RunID: e.RunID, ModelID: e.ModelID, QuestionID: e.QuestionID, Sample: e.Sample}
}
