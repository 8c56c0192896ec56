package cli

import "github.com/spf13/cobra"

// runsExportParent is `sabe runs` holding only export, for this branch,
// where runs.go (ls, show, cancel, retry-failed, rescore) is not: merged
// with it, this file goes and runs.go's runsCommand adds
// runsExportCommand(e) to its subcommands.
func runsExportParent(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "Runs and their results", GroupID: groupUse}
	cmd.AddCommand(runsExportCommand(e))
	return cmd
}
