package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// providersCommand is `sabe providers`.
func providersCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "List providers and check them live",
		Example: `  sabe providers ls
  sabe providers test openrouter --model openai/gpt-4o-mini`,
		GroupID: groupUse,
		Args:    cobra.ArbitraryArgs,
		RunE:    needSubcommand,
	}
	cmd.AddCommand(providersListCommand(e), providersTestCommand(e))
	return cmd
}

// providersListCommand is `sabe providers ls`.
func providersListCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List providers with their circuit: whether the workers are calling them now",
		Example: "  sabe providers ls\n  sabe providers ls --json | jq -r '.[] | select(.circuit.state != \"closed\") | .name'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			all, err := c.AllProviders(cmd.Context())
			if err != nil {
				return err
			}
			if all == nil {
				all = []oapi.Provider{} // --json: [], not null
			}
			t := table{Header: []string{"NAME", "KIND", "BASE URL", "KEY", "CIRCUIT"}}
			for _, p := range all {
				key := "-"
				if p.HasApiKey {
					key = "set"
					if p.ApiKeyFingerprint != nil {
						key = *p.ApiKeyFingerprint
					}
				}
				circuit := string(p.Circuit.State)
				if p.Circuit.Until != nil {
					circuit += " until " + when(*p.Circuit.Until)
				}
				t.Rows = append(t.Rows, []string{p.Name, string(p.Kind), p.BaseUrl, key, circuit})
			}
			return e.print(all, t)
		},
	}
}

// providersTestCommand is `sabe providers test`.
func providersTestCommand(e *env) *cobra.Command {
	var model string
	cmd := &cobra.Command{
		Use:   "test PROVIDER [--model ID]",
		Short: "Call a provider now with its stored key and say what is wrong, if anything (exit 1 when it fails)",
		Long: `test calls the provider from the server, with its stored key. With
--model (a model id of the provider's, as in provider_model_id) it sends
a one-token completion; without it, it lists the provider's models. A
failure names the stage that failed: dns, connect, tls, auth, model or
request, with the provider's message, and exits 1.`,
		Example: `  sabe providers test openrouter
  sabe providers test openrouter --model openai/gpt-4o-mini`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/providers"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			id, err := resolve(cmd.Context(), c, "/v1/providers", args[0])
			if err != nil {
				return err
			}
			res, err := c.TestProvider(cmd.Context(), id, model)
			if err != nil {
				return err
			}
			if e.global.json {
				if err := e.printJSON(res); err != nil {
					return err
				}
			} else if res.Ok {
				e.printf("provider %s: ok (%.0f ms)\n", args[0], res.LatencyMs)
			}
			if !res.Ok {
				status := ""
				if res.StatusCode != nil {
					status = fmt.Sprintf(" (HTTP %d)", *res.StatusCode)
				}
				return fmt.Errorf("provider %s failed at stage %s%s: %s", args[0], res.Stage, status, res.Message)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "a model id of the provider's to send a one-token completion to")
	return cmd
}
