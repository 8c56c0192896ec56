package cli

import (
	"fmt"

	"github.com/spf13/cobra"
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
	cmd.AddCommand(suitesListCommand(e))
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
			t := table{Header: []string{"NAME", "QUESTIONS", "UPDATED", "DESCRIPTION"}, Wrap: true}
			for _, s := range suites {
				t.Rows = append(t.Rows, []string{s.Name, fmt.Sprint(s.QuestionCount), when(s.UpdatedAt), s.Description})
			}
			return e.print(suites, t)
		},
	}
}
