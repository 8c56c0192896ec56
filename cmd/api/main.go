// Command api serves SABE's HTTP API; see services/api.
package main

import (
	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/services/api"
)

func main() {
	command.Main("api", api.Run)
}
