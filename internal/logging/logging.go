// Package logging builds the structured logger every SABE process uses.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// New returns a slog logger writing to w at level ("debug", "info", "warn",
// "error") in format ("json" or "text"). Records logged with a context
// inside a trace carry its trace_id and span_id (WithTraceIDs).
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("SABE_LOG_LEVEL: must be debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(WithTraceIDs(slog.NewJSONHandler(w, opts))), nil
	case "text":
		return slog.New(WithTraceIDs(slog.NewTextHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("SABE_LOG_FORMAT: must be json or text, got %q", format)
}

// asynqLogger adapts slog to asynq's Logger interface.
type asynqLogger struct{ l *slog.Logger }

// Asynq returns l as an asynq.Logger, so asynq's own messages are structured
// like the rest.
func Asynq(l *slog.Logger) interface {
	Debug(args ...any)
	Info(args ...any)
	Warn(args ...any)
	Error(args ...any)
	Fatal(args ...any)
} {
	return asynqLogger{l.With("component", "asynq")}
}

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }

// Fatal logs at error level. asynq calls it on unrecoverable errors; the
// process decides itself whether to exit, so this does not.
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
