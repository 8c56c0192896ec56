package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
)

// configCommand manages the config file's contexts.
func configCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "config",
		Short:   "Manage the servers and tokens sabe calls (contexts in ~/.config/sabe/config.yaml)",
		GroupID: groupSetup,
		Example: `  sabe config set-context prod --server https://sabe.example.com --token '${SABE_PROD_TOKEN}'
  sabe config use-context prod
  sabe config get-contexts`,
		Args: cobra.ArbitraryArgs,
		RunE: needSubcommand,
	}
	var server, token string
	set := &cobra.Command{
		Use:   "set-context NAME [--server URL] [--token TOKEN]",
		Short: "Add a context or change its server or token (the first one added becomes current)",
		Example: `  sabe config set-context local --server http://127.0.0.1:8080 --token "$(cat .sabe/dev-token)"
  # a reference is read from the environment each time it is used
  sabe config set-context ci --server https://sabe.example.com --token '${SABE_CI_TOKEN}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, path, err := e.loadConfig()
			if err != nil {
				return err
			}
			c := cfg.Context(args[0])
			if c == nil {
				if server == "" {
					return fmt.Errorf("context %q is new: give its --server", args[0])
				}
				cfg.Contexts = append(cfg.Contexts, ConfigContext{Name: args[0]})
				c = &cfg.Contexts[len(cfg.Contexts)-1]
			}
			if server != "" {
				c.Server = server
			}
			if cmd.Flags().Changed("token") {
				c.Token = token
			}
			if cfg.CurrentContext == "" {
				cfg.CurrentContext = args[0]
			}
			if err := saveConfig(path, cfg); err != nil {
				return err
			}
			e.notef("context %q saved in %s\n", args[0], path)
			return nil
		},
	}
	// These are the command's own: the root's --server and --token say
	// what to call, not what to save.
	set.Flags().StringVar(&server, "server", "", "the server's URL")
	set.Flags().StringVar(&token, "token", "", "the API token, or a ${ENV_VAR} reference to one")
	use := &cobra.Command{
		Use:               "use-context NAME",
		Short:             "Make a context the current one",
		Example:           "  sabe config use-context prod",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeContexts,
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, path, err := e.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Context(args[0]) == nil {
				return fmt.Errorf("no context %q in %s", args[0], path)
			}
			cfg.CurrentContext = args[0]
			if err := saveConfig(path, cfg); err != nil {
				return err
			}
			e.notef("current context: %s\n", args[0])
			return nil
		},
	}
	del := &cobra.Command{
		Use:               "delete-context NAME",
		Short:             "Remove a context",
		Example:           "  sabe config delete-context old",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeContexts,
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, path, err := e.loadConfig()
			if err != nil {
				return err
			}
			i := slices.IndexFunc(cfg.Contexts, func(c ConfigContext) bool { return c.Name == args[0] })
			if i < 0 {
				return fmt.Errorf("no context %q in %s", args[0], path)
			}
			cfg.Contexts = slices.Delete(cfg.Contexts, i, i+1)
			if cfg.CurrentContext == args[0] {
				cfg.CurrentContext = ""
			}
			return saveConfig(path, cfg)
		},
	}
	list := &cobra.Command{
		Use:     "get-contexts",
		Short:   "List the contexts; * marks the current one (tokens are not shown)",
		Example: "  sabe config get-contexts\n  sabe config get-contexts --json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, _, err := e.loadConfig()
			if err != nil {
				return err
			}
			type row struct {
				Name     string `json:"name"`
				Server   string `json:"server"`
				Current  bool   `json:"current"`
				HasToken bool   `json:"has_token"`
			}
			rows := make([]row, 0, len(cfg.Contexts))
			t := table{Header: []string{"CURRENT", "NAME", "SERVER", "TOKEN"}}
			for _, c := range cfg.Contexts {
				r := row{Name: c.Name, Server: c.Server, Current: c.Name == cfg.CurrentContext, HasToken: c.Token != ""}
				rows = append(rows, r)
				t.Rows = append(t.Rows, []string{mark(r.Current, "*"), c.Name, c.Server, tokenShown(c.Token)})
			}
			return e.print(rows, t)
		},
	}
	current := &cobra.Command{
		Use:     "current",
		Short:   "Say which server and token sabe would call, and where each came from",
		Example: "  SABE_URL=http://127.0.0.1:8080 sabe config current",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := e.connection()
			if err != nil {
				return err
			}
			out := map[string]string{"server": c.Server, "server_from": c.ServerFrom, "token_from": c.TokenFrom, "context": c.Context}
			t := table{Header: []string{"SERVER", "FROM", "TOKEN FROM"}, Rows: [][]string{{c.Server, c.ServerFrom, c.TokenFrom}}}
			return e.print(out, t)
		},
	}
	cmd.AddCommand(set, use, del, list, current)
	return cmd
}

// tokenShown is how a context's token is listed: a reference as written,
// a literal token never.
func tokenShown(tok string) string {
	switch {
	case tok == "":
		return "-"
	case envRef.MatchString(tok) && envRef.ReplaceAllString(tok, "") == "":
		return tok
	default:
		return "(set)"
	}
}

func (e *env) completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cfg, _, err := e.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, 0, len(cfg.Contexts))
	for _, c := range cfg.Contexts {
		names = append(names, c.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
