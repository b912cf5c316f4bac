package http

import (
	"context"

	"github.com/todoapi/todoapi"
)

type listInput struct {
	UserPath
	Status string `query:"status" enum:"all,pending,completed" default:"all" doc:"Which tasks to list by completion."`
}

type listOutput struct {
	Body []todoapi.Task
}

func (s *server) listTasks(ctx context.Context, in *listInput) (*listOutput, error) {
	tasks, err := s.tasks.ListTasks(ctx, userFrom(ctx), todoapi.TaskFilter{Status: todoapi.Status(in.Status)})
	if err != nil {
		return nil, s.errorResponse(ctx, err, "query")
	}
	return &listOutput{Body: tasks}, nil
}
