package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/importer"
)

// suitesCommand is `sabe suites`.
func suitesCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suites",
		Short: "List suites and import questions into them (sabe, openai/evals, inspect_ai, promptfoo, CSV)",
		Example: `  sabe suites ls
  sabe suites import support-bot promptfooconfig.yaml`,
		GroupID: groupSetup,
		Args:    cobra.ArbitraryArgs,
		RunE:    needSubcommand,
	}
	cmd.AddCommand(suitesListCommand(e), suitesImportCommand(e))
	return cmd
}

// suitesListCommand is `sabe suites ls`.
func suitesListCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List suites with their number of questions",
		Example: "  sabe suites ls\n  sabe suites ls --json | jq -r '.[].name'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			suites, err := c.AllSuites(cmd.Context())
			if err != nil {
				return err
			}
			if suites == nil {
				suites = []oapi.Suite{} // --json: [], not null
			}
			t := table{Header: []string{"NAME", "QUESTIONS", "UPDATED", "DESCRIPTION"}, Wrap: true}
			for _, s := range suites {
				t.Rows = append(t.Rows, []string{s.Name, fmt.Sprint(s.QuestionCount), when(s.UpdatedAt), s.Description})
			}
			return e.print(suites, t)
		},
	}
}

// maxImportFile bounds what `sabe suites import` reads of a file: far
// above what the API takes in one import (it answers 413 past its body
// limit), low enough that a wrong file does not fill the memory.
const maxImportFile = 64 << 20

// suitesImportCommand is `sabe suites import`.
func suitesImportCommand(e *env) *cobra.Command {
	var (
		format          string
		skipUnsupported bool
	)
	cmd := &cobra.Command{
		Use:   "import SUITE FILE [--format sabe|openai-evals|inspect|promptfoo|csv] [--skip-unsupported]",
		Short: "Import a question file into a suite, all of it or nothing (FILE - reads stdin)",
		Long: `import adds the questions of a file to a suite in one import: all of them,
or, when any line is bad, none, with every bad line listed on stderr as
"line 12: assert[1].type: ..." (exit 1).

The format is --format, else guessed from the file's name and first lines
(the guess is printed on stderr): sabe JSON Lines, openai/evals JSON Lines,
inspect_ai datasets (JSON Lines or CSV), promptfoo test files (YAML or
CSV: their vars are rendered into the suite's prompt_template) and CSV with
named columns. A promptfoo assertion SABE cannot score refuses the import,
unless --skip-unsupported leaves it out (each one is listed as a warning).`,
		Example: `  sabe suites import support-bot promptfooconfig.yaml
  sabe suites import support-bot samples.jsonl --format openai-evals
  sabe suites import support-bot tests.yaml --skip-unsupported
  cat questions.csv | sabe suites import support-bot - --format csv`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: e.completeSuiteThenFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			suite, file := args[0], args[1]
			if format != "" {
				if _, err := importer.ParseFormat(format); err != nil {
					return command.Usagef(cmd.UsageString(), "--format: %v", err)
				}
			}
			body, err := readImportFile(e.io.In, file)
			if err != nil {
				return err
			}
			if format == "" {
				f, err := importer.Guess(file, body)
				if err != nil {
					return command.Usagef(cmd.UsageString(), "%v", err)
				}
				format = string(f)
				e.notef("format: %s (guessed from %s; --format chooses)\n", format, importName(file))
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			id, err := resolve(cmd.Context(), c, "/v1/suites", suite)
			if err != nil {
				return err
			}
			res, err := c.ImportFile(cmd.Context(), id, format, skipUnsupported, bytes.NewReader(body))
			if ie, ok := errors.AsType[*client.ImportError](err); ok {
				return e.importRefused(ie, file)
			}
			if err != nil {
				return err
			}
			for _, s := range res.Skipped {
				e.notef("warning: %s: skipped\n", lineError(s))
			}
			if e.global.json {
				return e.printJSON(res)
			}
			e.printf("imported %d questions into suite %s\n", res.Imported, suite)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "the file's format: sabe, openai-evals, inspect, promptfoo or csv (default: guessed from the file)")
	f.BoolVar(&skipUnsupported, "skip-unsupported", false, "leave out assertions SABE cannot score (listed as warnings) instead of refusing the import")
	formats := make([]string, len(importer.Formats))
	for i, x := range importer.Formats {
		formats[i] = string(x)
	}
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// readImportFile reads the file to import, or stdin for "-".
func readImportFile(stdin io.Reader, file string) ([]byte, error) {
	r := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, maxImportFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", importName(file), err)
	}
	if len(body) > maxImportFile {
		return nil, fmt.Errorf("%s is larger than %d MiB: split it into several imports", importName(file), maxImportFile>>20)
	}
	return body, nil
}

// importName is how messages name the file: stdin for "-".
func importName(file string) string {
	if file == "-" {
		return "stdin"
	}
	return file
}

// importRefused reports a refused import: every bad line on stderr (with
// --json, the API's refusal on stdout as well), and an error that says
// nothing was imported.
func (e *env) importRefused(ie *client.ImportError, file string) error {
	if e.global.json {
		msg := oapi.ErrorDetail{Code: ie.API.Code, Message: ie.API.Message}
		if ie.API.Field != "" {
			msg.Field = &ie.API.Field
		}
		if err := e.printJSON(oapi.ImportError{Error: msg, Errors: ie.Lines}); err != nil {
			return err
		}
	}
	// The lines are the error itself: printed even with --quiet.
	var b strings.Builder
	for _, l := range ie.Lines {
		fmt.Fprintf(&b, "%s: %s\n", importName(file), lineError(l))
	}
	fmt.Fprint(e.io.Err, b.String())
	n := len(ie.Lines)
	return fmt.Errorf("import refused: %d bad %s in %s; nothing was imported", n, plural(n, "line", "lines"), importName(file))
}

// lineError is a line the API refused or skipped, as the importer writes
// it: "line 12: assert[1].type: message".
func lineError(l oapi.LineError) string {
	return importer.LineError{Line: l.Line, Field: deref(l.Field), Message: l.Message}.String()
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// completeSuiteThenFile completes a suite's name, then a file.
func (e *env) completeSuiteThenFile(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return e.completeNames("/v1/suites")(cmd, args, prefix)
	}
	if len(args) == 1 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
