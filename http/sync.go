package http

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/todoapi/todoapi"
)

// Conditional requests and the change feed: a task's ETag is its version,
// strong and quoted ("3"); a list's is the user's collection version and a
// hash of the canonical query, both made by the service.

// taskETag is the ETag of a response that returns t.
func taskETag(t todoapi.Task) string {
	return `"` + strconv.FormatInt(t.Version, 10) + `"`
}

// entityTags splits an If-Match or If-None-Match value into its entity
// tags, each as sent (W/ prefix and quotes included); "*" stays "*".
func entityTags(header string) []string {
	var tags []string
	for tag := range strings.SplitSeq(header, ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			tags = append(tags, tag)
		}
	}
	return tags
}

// ifMatch reads If-Match into the service's precondition. The comparison
// is strong (RFC 9110 §13.1.1): a weak tag never matches, and neither does
// a tag this service never issues, so a request naming only such tags, or
// none (If-Match: ","), fails with 412 rather than overwriting blindly.
func ifMatch(header string) todoapi.Precondition {
	if strings.TrimSpace(header) == "" {
		return todoapi.Precondition{}
	}
	p := todoapi.Precondition{Set: true}
	for _, tag := range entityTags(header) {
		if tag == "*" {
			p.Any = true
			continue
		}
		inner, ok := strings.CutPrefix(tag, `"`)
		if inner, ok2 := strings.CutSuffix(inner, `"`); ok && ok2 {
			if v, err := strconv.ParseInt(inner, 10, 64); err == nil && v > 0 {
				p.Versions = append(p.Versions, v)
			}
		}
	}
	return p
}

// noneMatch reports whether If-None-Match matches current, an ETag as this
// service sends it. The comparison is weak (RFC 9110 §13.1.2): W/"3"
// matches "3".
func noneMatch(header, current string) bool {
	for _, tag := range entityTags(header) {
		if tag == "*" || strings.TrimPrefix(tag, "W/") == current {
			return true
		}
	}
	return false
}

// notModified is the 304 of a conditional GET: no body, the current ETag.
func notModified(etag string) *problem {
	return withHeader(newProblem(http.StatusNotModified, ""), "ETag", etag)
}

type changesInput struct {
	UserPath
	Since string `query:"since" doc:"Where to continue: the next token of an earlier read. Without it, the read is an initial sync: every task, then a token to continue from. Opaque, and valid for this user only."`
	Limit string `query:"limit" doc:"Most changes to return, 1 to 1000; default 1000." example:"100"`
}

// changeJSON is one entry of the change feed as clients see it: an upsert
// carries the task, a deletion its id and time.
type changeJSON struct {
	Op        string        `json:"op" enum:"upsert,delete" doc:"upsert: the task was created or changed, and task is its latest state. delete: the task was deleted."`
	Task      *todoapi.Task `json:"task,omitempty" doc:"The task's latest state (upsert)."`
	ID        int64         `json:"id,omitempty" doc:"The deleted task's id (delete)."`
	DeletedAt *time.Time    `json:"deleted_at,omitempty" doc:"When the task was deleted, UTC (delete)."`
	Reminder  bool          `json:"reminder,omitempty" doc:"The task's reminder fell due since the position read from (upsert): show it. Absent otherwise."`
}

type changesBody struct {
	Changes []changeJSON `json:"changes" nullable:"false" doc:"In the order they were committed; one entry per task, its latest state."`
	Next    string       `json:"next" doc:"The token to read on from, as since."`
	HasMore bool         `json:"has_more" doc:"More changes follow next right now: read again at once."`
}

type changesOutput struct {
	Body changesBody
}

func (s *server) listChanges(ctx context.Context, in *changesInput) (*changesOutput, error) {
	limit := 0 // the service's default
	if in.Limit != "" {
		// The service holds the range and its wording. 0 means the default
		// in process, so a 0 sent here is, like a limit that is not a
		// number, passed on as one the range refuses.
		n, err := strconv.Atoi(in.Limit)
		if err != nil || n == 0 {
			n = -1
		}
		limit = n
	}
	page, err := s.tasks.Changes(ctx, userFrom(ctx), in.Since, limit)
	if err != nil {
		return nil, s.problemFor(ctx, err, "query")
	}
	out := &changesOutput{Body: changesBody{Changes: make([]changeJSON, len(page.Changes)), Next: page.Next, HasMore: page.HasMore}}
	for i, c := range page.Changes {
		switch c.Op {
		case todoapi.ChangeUpsert:
			out.Body.Changes[i] = changeJSON{Op: string(c.Op), Task: c.Task, Reminder: c.Reminder}
		default:
			out.Body.Changes[i] = changeJSON{Op: string(c.Op), ID: c.ID, DeletedAt: c.DeletedAt}
		}
	}
	return out, nil
}
