package containers_test

import (
	"context"
	"testing"

	"github.com/sabe-dev/sabe/internal/containers"
)

// TestDockerAvailable_ErrNoDaemon: with no daemon at DOCKER_HOST the check
// says so instead of hanging or panicking, which is what lets `sabe dev`
// tell a person what is missing.
func TestDockerAvailable_ErrNoDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+t.TempDir()+"/docker.sock")
	if err := containers.DockerAvailable(context.Background()); err == nil {
		t.Fatal("no error without a Docker daemon")
	} else {
		t.Log(err)
	}
}
