package cli

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
)

// globalFlags are the root's persistent flags, which every client command
// takes.
type globalFlags struct {
	server, token, context, config string
	json, quiet                    bool
	timeout                        time.Duration
}

func (g *globalFlags) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.server, "server", "", "SABE server URL, such as https://sabe.example.com (default: SABE_URL, then the context's)")
	f.StringVar(&g.token, "token", "", "API token (default: SABE_TOKEN, then the context's)")
	f.StringVar(&g.context, "context", "", "context of the config file to use (default: SABE_CONTEXT, then its current-context)")
	f.StringVar(&g.config, "config", "", "config file (default: SABE_CONFIG, then $XDG_CONFIG_HOME/sabe/config.yaml or ~/.config/sabe/config.yaml)")
	f.BoolVar(&g.json, "json", false, "print data as JSON instead of tables")
	f.BoolVarP(&g.quiet, "quiet", "q", false, "print nothing but errors (and what --json asks for)")
	f.DurationVar(&g.timeout, "timeout", client.DefaultTimeout, "bound of each HTTP request to the server")
}

// Config is the client's config file: named contexts, like kubectl's, each
// a server and a token. A token may be written as ${ENV_VAR}, read from
// the environment when used, so the file can be shared.
//
//	current-context: prod
//	contexts:
//	  - name: prod
//	    server: https://sabe.example.com
//	    token: ${SABE_PROD_TOKEN}
//	  - name: local
//	    server: http://127.0.0.1:8080
//	    token: sabe_...
type Config struct {
	CurrentContext string          `yaml:"current-context,omitempty" json:"current_context,omitempty"`
	Contexts       []ConfigContext `yaml:"contexts" json:"contexts"`
}

// ConfigContext is one server and the token to call it with.
type ConfigContext struct {
	Name   string `yaml:"name" json:"name"`
	Server string `yaml:"server" json:"server"`
	Token  string `yaml:"token,omitempty" json:"token,omitempty"`
}

// Context returns the context named name, or nil.
func (c *Config) Context(name string) *ConfigContext {
	i := slices.IndexFunc(c.Contexts, func(x ConfigContext) bool { return x.Name == name })
	if i < 0 {
		return nil
	}
	return &c.Contexts[i]
}

// configPath is where the config file is: --config, SABE_CONFIG,
// $XDG_CONFIG_HOME/sabe/config.yaml, ~/.config/sabe/config.yaml.
func (e *env) configPath() (string, error) {
	if p := cmp.Or(e.global.config, e.getenv("SABE_CONFIG")); p != "" {
		return p, nil
	}
	if x := e.getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "sabe", "config.yaml"), nil
	}
	home := e.getenv("HOME")
	if home == "" {
		return "", errors.New("no config file: HOME is not set (give --config or SABE_CONFIG)")
	}
	return filepath.Join(home, ".config", "sabe", "config.yaml"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
func (e *env) loadConfig() (*Config, string, error) {
	path, err := e.configPath()
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, path, nil
	}
	if err != nil {
		return nil, path, fmt.Errorf("read config %s: %w", path, err)
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, path, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, path, nil
}

// saveConfig writes the config file, readable by its owner only (it may
// hold tokens).
func saveConfig(path string, c *Config) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return os.Rename(tmp, path)
}

// Connection is the server and token a client command calls with, and
// where each came from (for `sabe config current` and error messages).
type Connection struct {
	Server, Token         string
	ServerFrom, TokenFrom string
	Context               string
}

// connection resolves the server and the token: a flag first, then the
// environment (SABE_URL, SABE_TOKEN), then the config file's context
// (--context, SABE_CONTEXT, current-context).
func (e *env) connection() (Connection, error) {
	var c Connection
	c.Server, c.ServerFrom = e.global.server, "--server"
	if c.Server == "" {
		c.Server, c.ServerFrom = e.getenv("SABE_URL"), "SABE_URL"
	}
	c.Token, c.TokenFrom = e.global.token, "--token"
	if c.Token == "" {
		c.Token, c.TokenFrom = e.getenv("SABE_TOKEN"), "SABE_TOKEN"
	}
	if c.Server == "" || c.Token == "" {
		cfg, path, err := e.loadConfig()
		if err != nil {
			return c, err
		}
		name := cmp.Or(e.global.context, e.getenv("SABE_CONTEXT"), cfg.CurrentContext)
		if name != "" {
			ctx := cfg.Context(name)
			if ctx == nil {
				return c, fmt.Errorf("no context %q in %s (sabe config get-contexts lists them)", name, path)
			}
			c.Context = name
			from := "context " + strconv.Quote(name) + " of " + path
			if c.Server == "" {
				c.Server, c.ServerFrom = ctx.Server, from
			}
			if c.Token == "" {
				tok, err := expandEnv(ctx.Token, e.getenv)
				if err != nil {
					return c, fmt.Errorf("%s: token: %w", from, err)
				}
				c.Token, c.TokenFrom = tok, from
			}
		}
	}
	if c.Server == "" {
		return c, command.Usagef("", "no server: give --server, set SABE_URL, or add a context (sabe config set-context)")
	}
	if c.Token == "" {
		return c, command.Usagef("", "no token: give --token, set SABE_TOKEN, or add one to the context (sabe config set-context)")
	}
	return c, nil
}

// client is the API client of the resolved connection.
func (e *env) client() (*client.Client, error) {
	c, err := e.connection()
	if err != nil {
		return nil, err
	}
	return client.New(c.Server, c.Token, client.WithTimeout(e.global.timeout)), nil
}

// envRef is a reference to an environment variable in a file: ${NAME}.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces each ${NAME} in s with the environment's NAME (a
// lone $ stays as it is); a variable that is unset or empty is an error
// naming it, since a file's reference to a secret must not silently
// become "".
func expandEnv(s string, getenv func(string) string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v := getenv(name)
		if v == "" && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}
