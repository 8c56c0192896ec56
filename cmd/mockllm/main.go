// Command mockllm runs SABE's deterministic fake LLM provider; see
// services/mockllm for its configuration.
package main

import (
	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/services/mockllm"
)

func main() {
	command.Main("mockllm", mockllm.Run)
}
