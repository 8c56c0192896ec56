package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// runsExportCommand is `sabe runs export`: a run's results, one row per
// unit, streamed from the API to stdout or a file in constant memory.
func runsExportCommand(e *env) *cobra.Command {
	var format, out, model, question, status string
	cmd := &cobra.Command{
		Use:   "export RUN [--format csv|jsonl] [-o FILE] [--model M] [--question Q] [--status S]",
		Short: "Export a run's results as CSV or JSON Lines, one row per unit",
		Long: `Export writes every unit of a run (model, question, sample) with its answer,
verdict, every evaluation (as JSON, with assertions and judges), latency,
time to first token, tokens, cost, status and error. The export streams:
a run of a million units takes no more memory than a small one.

The format is --format, else guessed from -o's extension (.jsonl, .ndjson:
JSON Lines), else CSV. With -o the file appears only when the export is
whole: it is written beside it under a temporary name and renamed at the
end. An export the server cut short exits non-zero (on stdout its last line
then says export_error).`,
		Example: `  sabe runs export 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f -o results.csv
  sabe runs export 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --format jsonl --status failed | jq .error
  sabe runs export 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --model gpt-4o -o gpt-4o.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			runID, err := uuid.Parse(args[0])
			if err != nil {
				return command.Usagef(cmd.UsageString(), "%q is not a run id (sabe runs ls lists them)", args[0])
			}
			format, err := exportFormatOf(format, out)
			if err != nil {
				return command.Usagef(cmd.UsageString(), "%w", err)
			}
			var f client.ResultFilter
			if status != "" {
				s := oapi.ExecutionStatus(status)
				if !s.Valid() {
					return command.Usagef(cmd.UsageString(), "--status %q: give succeeded, failed or cancelled", status)
				}
				f.Status = &s
			}
			if question != "" {
				id, err := uuid.Parse(question)
				if err != nil {
					return command.Usagef(cmd.UsageString(), "--question %q is not a question id", question)
				}
				f.QuestionID = &id
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if model != "" {
				id, err := resolve(ctx, c, "/v1/models", model)
				if err != nil {
					return err
				}
				f.ModelID = &id
			}
			export := func(w io.Writer) (int64, error) { return c.ExportResults(ctx, runID, format, f, w) }
			if out == "" {
				rows, err := export(e.io.Out)
				if err != nil {
					return err
				}
				e.notef("exported %d rows of run %s\n", rows, runID)
				return nil
			}
			rows, err := writeFileAtomically(out, export)
			if err != nil {
				return err
			}
			e.notef("exported %d rows of run %s to %s\n", rows, runID, out)
			if e.global.json {
				return e.printJSON(map[string]any{"run_id": runID, "format": format, "file": out, "rows": rows})
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "", "csv or jsonl (default: from -o's extension, else csv)")
	fl.StringVarP(&out, "output", "o", "", "write to this file (whole or not at all) instead of stdout")
	fl.StringVar(&model, "model", "", "only this model's units (name or id)")
	fl.StringVar(&question, "question", "", "only this question's units (id), every model's answers")
	fl.StringVar(&status, "status", "", "only units in this status: succeeded, failed or cancelled")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{client.ExportCSV, client.ExportJSONL}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{"succeeded", "failed", "cancelled"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("model", e.completeNames("/v1/models"))
	return cmd
}

// exportFormatOf is --format, or the format -o's extension names, or CSV.
func exportFormatOf(format, out string) (string, error) {
	switch strings.ToLower(format) {
	case client.ExportCSV:
		return client.ExportCSV, nil
	case client.ExportJSONL, "ndjson":
		return client.ExportJSONL, nil
	case "":
	default:
		return "", fmt.Errorf("--format %q: give csv or jsonl", format)
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".jsonl", ".ndjson":
		return client.ExportJSONL, nil
	}
	return client.ExportCSV, nil
}

// writeFileAtomically writes path through write, into a temporary file
// beside it that is renamed to path only when write succeeded: a failed or
// interrupted export never leaves a file under the name asked for.
func writeFileAtomically(path string, write func(io.Writer) (int64, error)) (n int64, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if n, err = write(tmp); err != nil {
		return n, err
	}
	if err = tmp.Sync(); err != nil {
		return n, err
	}
	if err = tmp.Close(); err != nil {
		return n, err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return n, errors.Join(err, os.Remove(tmp.Name()))
	}
	return n, nil
}
