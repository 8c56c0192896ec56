// Command worker runs a SABE worker: any number share the queues.
package main

import (
	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/services/worker"
)

func main() {
	command.Main("worker", worker.Run)
}
