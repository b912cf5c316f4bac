package http

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
)

type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

// serviceInfo is what GET / answers: enough for a person or a probe that
// lands on the root to know what is running and where to read about it.
type serviceInfo struct {
	Body struct {
		Name    string `json:"name" example:"todoapi" doc:"The service."`
		Version string `json:"version" example:"1.4.0" doc:"The running version."`
		Docs    string `json:"docs" example:"/docs" doc:"Interactive documentation; the OpenAPI description is at openapi."`
		OpenAPI string `json:"openapi" example:"/openapi.json" doc:"The OpenAPI description."`
	}
}

// rootPattern matches the root path only; "/" alone would match every
// path the mux has no other route for.
const rootPattern = "/{$}"

func (s *server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz",
		Summary: "Liveness", Description: "200 while the process is running.", Tags: []string{"Service"},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		return okOutput(), nil
	})
	// Deployments written for the Python design probe /health and expect
	// "healthy"; it is /healthz under that name.
	huma.Register(s.api, huma.Operation{
		OperationID: "health", Method: http.MethodGet, Path: "/health",
		Summary: "Liveness (alias)", Description: "200 with {\"status\": \"healthy\"} while the process is running, like /healthz.",
		Tags: []string{"Service"},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status = "healthy"
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "service-info", Method: http.MethodGet, Path: rootPattern,
		Summary: "Service", Description: "The service's name, version and where its documentation is.",
		Tags: []string{"Service"},
	}, func(ctx context.Context, _ *struct{}) (*serviceInfo, error) {
		out := &serviceInfo{}
		out.Body.Name, out.Body.Version = "todoapi", s.version
		out.Body.Docs, out.Body.OpenAPI = "/docs", "/openapi.json"
		return out, nil
	})
	// The document names the path as clients write it.
	oapi := s.api.OpenAPI()
	if item := oapi.Paths[rootPattern]; item != nil {
		delete(oapi.Paths, rootPattern)
		item.Get.Path = "/"
		oapi.Paths["/"] = item
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary: "Readiness", Description: "200 when the database answers, 503 when it does not or the server is shutting down.",
		Tags: []string{"Service"}, Errors: []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		if s.draining() {
			// Shutting down: a load balancer should send traffic elsewhere
			// while the requests in flight finish.
			return nil, newProblem(http.StatusServiceUnavailable, "the server is shutting down")
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := s.db.Ping(ctx); err != nil {
			// Whatever stopped the ping (a refused connection, the
			// timeout), the answer is the same: not ready.
			return nil, s.problemFor(ctx, fmt.Errorf("%w: readiness check: %w", todoapi.ErrDatabaseUnavailable, err), "")
		}
		return okOutput(), nil
	})
}

func okOutput() *healthOutput {
	out := &healthOutput{}
	out.Body.Status = "ok"
	return out
}
