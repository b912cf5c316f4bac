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

func (s *server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz",
		Summary: "Liveness", Description: "200 while the process is running.", Tags: []string{"Service"},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		return okOutput(), nil
	})
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
