package http

import (
	"context"
	"net/url"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
)

// listInput holds the list parameters as raw strings: the
// domain's ParseListQuery validates them all at once, so that one 422 names
// every bad parameter and the rules live in one place. Repeatable parameters
// use explode: each value is its own ?tag=…, and a comma is part of a value.
type listInput struct {
	UserPath
	Status       string   `query:"status" doc:"all (default), pending or completed." example:"pending"`
	Priority     []string `query:"priority,explode" doc:"low, medium or high (case-insensitive). Repeatable: a task matches any of them."`
	Tag          []string `query:"tag,explode" doc:"A tag (case-insensitive). Repeatable: a task matches when it has every one of them."`
	Q            string   `query:"q" doc:"Case-insensitive text that the title or description contains; matched literally (% and _ are not wildcards). Leading and trailing white space is ignored." example:"milk"`
	DueBefore    string   `query:"due_before" doc:"Only tasks due before this time (exclusive): RFC 3339, a date YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM[:SS] (UTC). Tasks without a due date never match." example:"2026-12-31"`
	DueAfter     string   `query:"due_after" doc:"Only tasks due after this time (exclusive), in the same forms as due_before. Tasks without a due date never match." example:"2026-12-01T09:00:00Z"`
	Recurring    string   `query:"recurring" doc:"true: only tasks with a recurrence rule; false: only tasks without one." example:"true"`
	RemindBefore string   `query:"remind_before" doc:"Only tasks whose reminder (remind_at) is before this time (exclusive), in the same forms as due_before. Tasks without a reminder never match." example:"2026-12-01T09:00:00Z"`
	RemindAfter  string   `query:"remind_after" doc:"Only tasks whose reminder (remind_at) is after this time (exclusive), in the same forms as due_before. Tasks without a reminder never match." example:"2026-12-01T09:00:00Z"`
	Sort         string   `query:"sort" doc:"created, updated, title or due_date ascending, or priority (high, medium, low); a leading - reverses it. Default -created (newest first). Ties are broken by id in the same direction. title ignores case; tasks without a due date come last in both directions. created_at, updated_at, created_date, updated_date, createdAt and updatedAt list newest first, with or without a leading -, unless order=asc; dueDate is due_date." example:"priority"`
	Limit        string   `query:"limit" doc:"Page size, 1 to 1000; default 1000." example:"50"`
	Cursor       string   `query:"cursor" doc:"Where to continue: the cursor from the previous page's Link header, with the same sort. Opaque."`
	IfNoneMatch  string   `header:"If-None-Match" doc:"304 with no body when the list's ETag is one of these: the list has not changed."`
	Offset       string   `query:"offset" doc:"For clients that page by offset: skip this many matching tasks (0 or more) before the page. Not with cursor. The Link header continues with a cursor, which, unlike an offset, neither repeats nor skips tasks when others are added or deleted meanwhile." example:"20"`

	// url is the request's URL, from which the next page's link is made.
	url url.URL
}

// Resolve keeps the request URL, from which listTasks reads the parameters
// (canonicalListQuery: they may come under alias names, which the fields
// above do not see) and makes the Link header.
func (in *listInput) Resolve(ctx huma.Context) []error {
	in.url = ctx.URL()
	return nil
}

type listOutput struct {
	Link       string `header:"Link" doc:"Present when more tasks match than this page holds: <URL of the next page>; rel=\"next\" (RFC 8288). The URL is relative to this server and repeats this request's parameters with a new cursor."`
	TotalCount int    `header:"X-Total-Count" doc:"How many tasks match the filters, on all pages together."`
	ETag       string `header:"ETag" doc:"Names this page's content: send it as If-None-Match to get 304 while the list is unchanged."`
	Body       []todoapi.Task
}

func (s *server) listTasks(ctx context.Context, in *listInput) (*listOutput, error) {
	q, sentAs := canonicalListQuery(in.url.Query())
	if in.IfNoneMatch != "" {
		// One read of the user's collection version, no list query.
		tag, err := s.tasks.ListETag(ctx, userFrom(ctx), q)
		if err != nil {
			return nil, s.problemFor(ctx, sentNames(err, sentAs), "query")
		}
		if etag := `"` + tag + `"`; noneMatch(in.IfNoneMatch, etag) {
			return nil, notModified(etag)
		}
	}
	page, err := s.tasks.ListTasks(ctx, userFrom(ctx), q)
	if err != nil {
		return nil, s.problemFor(ctx, sentNames(err, sentAs), "query")
	}
	out := &listOutput{TotalCount: page.Total, Body: page.Tasks}
	if page.ETag != "" {
		out.ETag = `"` + page.ETag + `"`
	}
	if page.NextCursor != "" {
		out.Link = nextLink(in.url, page.NextCursor)
	}
	return out, nil
}

// nextLink is the Link header value for the page at cursor: the request's
// path and parameters (unknown ones included, so aliases keep working) with
// the cursor replaced, and without an offset, which the cursor supersedes.
// It is a path-absolute reference, which RFC 8288 resolves against the
// request's URL: behind a proxy this server cannot know the scheme and host
// clients use.
func nextLink(u url.URL, cursor string) string {
	q := u.Query()
	q.Set("cursor", cursor)
	q.Del("offset")
	return "<" + u.EscapedPath() + "?" + q.Encode() + `>; rel="next"`
}
