package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/pkg/client"
)

// resolve turns what a person typed for an object of a collection
// ("/v1/benchmarks", "/v1/suites", "/v1/providers", "/v1/models") into
// its id: an id as it is, otherwise the object's name.
func resolve(ctx context.Context, c *client.Client, collection, arg string) (uuid.UUID, error) {
	if id, err := uuid.Parse(arg); err == nil {
		return id, nil
	}
	id, found, err := c.FindByName(ctx, collection, arg)
	if err != nil {
		return uuid.Nil, err
	}
	if !found {
		kind := strings.TrimSuffix(strings.TrimPrefix(collection, "/v1/"), "s")
		return uuid.Nil, fmt.Errorf("no %s named %q (give its name or id)", kind, arg)
	}
	return id, nil
}

// completeNames completes the names of a collection's objects, for the
// shells' completion of a command's first argument.
func (e *env) completeNames(collection string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := e.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, err := c.Names(cmd.Context(), collection)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := names[:0]
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
