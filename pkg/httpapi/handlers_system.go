package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// readyTimeout bounds each dependency check of /readyz, so that a probe
// gets an answer while a dependency hangs.
const readyTimeout = 2 * time.Second

// Healthz answers while the process is up.
func (a *api) Healthz(context.Context, oapi.HealthzRequestObject) (oapi.HealthzResponseObject, error) {
	return oapi.Healthz200JSONResponse{Status: "ok"}, nil
}

// Readyz pings PostgreSQL and Redis, each within readyTimeout.
func (a *api) Readyz(ctx context.Context, _ oapi.ReadyzRequestObject) (oapi.ReadyzResponseObject, error) {
	var pgErr, redisErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		pgErr = a.s.store.Pool().Ping(ctx)
	})
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		redisErr = a.s.rdb.Ping(ctx).Err()
	})
	wg.Wait()

	out := oapi.Readiness{Status: "ok", Checks: oapi.ReadinessChecks{Postgres: checkStatus(pgErr), Redis: checkStatus(redisErr)}}
	if pgErr == nil && redisErr == nil {
		return oapi.Readyz200JSONResponse(out), nil
	}
	out.Status = "unavailable"
	a.s.log.WarnContext(ctx, "not ready", "postgres", errString(pgErr), "redis", errString(redisErr))
	return oapi.Readyz503JSONResponse(out), nil
}

func checkStatus(err error) oapi.CheckStatus {
	if err != nil {
		return "unavailable"
	}
	return "ok"
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// GetOpenAPI serves the document as the bytes SpecJSON rendered once.
func (a *api) GetOpenAPI(context.Context, oapi.GetOpenAPIRequestObject) (oapi.GetOpenAPIResponseObject, error) {
	data, err := SpecJSON()
	if err != nil {
		return nil, err
	}
	return specResponse(data), nil
}

// specResponse writes the pre-rendered document without decoding and
// encoding it again per request.
type specResponse []byte

// VisitGetOpenAPIResponse writes the document with its length.
func (r specResponse) VisitGetOpenAPIResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(r)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(r)
	return err
}
