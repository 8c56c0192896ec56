// Command scheduler runs SABE's scheduler process.
package main

import (
	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/services/scheduler"
)

func main() {
	command.Main("scheduler", scheduler.Run)
}
