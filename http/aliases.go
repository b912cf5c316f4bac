package http

// Aliases: frontends written for the Python design send other
// paths, body keys and list parameters than the canonical ones. Each kind
// of alias is translated to the canonical form in one place, at the edge:
//
//   - paths, by canonicalPaths, in front of the mux;
//   - body keys, by decodeObject, from bodyAliases;
//   - list parameters, by canonicalListQuery, before the domain parses them.
//
// Handlers, the service and the stores see only canonical values. The
// OpenAPI document lists the canonical forms, and the aliases after them,
// deprecated and described as "alias of …" (documentAliases).

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
)

// canonicalPaths rewrites the alias paths to the canonical ones:
//
//	/api/tasks…, /api/tags, /api/changes          → /api/me/tasks…, /api/me/tags, /api/me/changes
//	/api/events, /api/events/ticket               → /api/me/events, /api/me/events/ticket
//	PATCH or POST /api/{user_id}/tasks/{id}/toggle → PATCH /api/{user_id}/tasks/{id}/complete
//	GET /api/{user_id}/tasks/search                → GET /api/{user_id}/tasks
//
// (both at once: /api/tasks/{id}/toggle). Any other method on a toggle path
// is 405. The search path is the list with its parameters (q, and any
// other), for frontends that call a separate search route; no task id is
// "search", so it hides no task. A user whose id is "tasks" or "tags" reaches their own tasks
// through /api/me/… only: /api/tasks/… is always the alias.
func (s *server) canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		path := r.URL.EscapedPath()
		method, canonical, ok := canonicalPath(r.Method, path)
		switch {
		case !ok:
			next.ServeHTTP(w, r)
			return
		case method == "":
			w.Header().Set("Allow", "PATCH, POST")
			s.writeProblem(w, r, newProblem(http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed here"))
			return
		}
		u := *r.URL
		// canonical only inserts or replaces whole unescaped segments, so
		// it unescapes as the original did.
		u.Path, _ = url.PathUnescape(canonical)
		u.RawPath = ""
		if u.EscapedPath() != canonical {
			u.RawPath = canonical
		}
		r = r.WithContext(r.Context()) // a shallow copy, as the URL is
		r.URL, r.Method = &u, method
		next.ServeHTTP(w, r)
	})
}

// canonicalPath returns the canonical method and escaped path of an alias
// path, and whether path is one; an empty method means that the alias
// does not take this method.
func canonicalPath(method, path string) (string, string, bool) {
	changed := false
	if path == "/api/tasks" || strings.HasPrefix(path, "/api/tasks/") || path == "/api/tags" || path == "/api/changes" ||
		path == "/api/events" || path == "/api/events/ticket" {
		path = "/api/me" + strings.TrimPrefix(path, "/api")
		changed = true
	}
	// /api/{user_id}/tasks/search
	if rest, ok := strings.CutSuffix(path, "/tasks/search"); ok && (method == http.MethodGet || method == http.MethodHead) {
		if seg := strings.Split(rest, "/"); len(seg) == 3 && seg[1] == "api" && seg[2] != "" {
			return method, rest + "/tasks", true
		}
	}
	// /api/{user_id}/tasks/{id}/toggle
	if rest, ok := strings.CutSuffix(path, "/toggle"); ok {
		if seg := strings.Split(rest, "/"); len(seg) == 5 && seg[1] == "api" && seg[2] != "" && seg[3] == "tasks" && seg[4] != "" {
			switch method {
			case http.MethodPatch, http.MethodPost:
				return http.MethodPatch, rest + "/complete", true
			}
			return "", "", true
		}
	}
	return method, path, changed
}

// bodyAliases are the other keys clients send for body fields, in order of
// precedence: the canonical key wins over all of them, and an alias is read
// (and its value checked) only when the keys before it are absent.
var bodyAliases = map[string][]string{
	"completed":  {"is_completed", "complete"},
	"recurrence": {"recurrence_rule", "recurrence_pattern"},
	"remind_at":  {"reminder_time"},
}

// recurrencePatterns are the values of recurrence_pattern, an alias of
// recurrence that names a frequency only; "none" (like null) means the task
// does not recur.
var recurrencePatterns = map[string]string{
	"daily": "FREQ=DAILY", "weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY", "yearly": "FREQ=YEARLY",
}

// canonicalRecurrence turns a recurrence that came as recurrence_pattern
// into the rule it names.
func canonicalRecurrence(f *todoapi.Field[string], sentAs map[string]string) {
	if sentAs["recurrence"] != "recurrence_pattern" || !f.Set || f.Null || f.Invalid != "" {
		return
	}
	v := strings.ToLower(strings.TrimSpace(f.Value))
	if rule, ok := recurrencePatterns[v]; ok {
		f.Value = rule
	} else if v == "none" || v == "" {
		f.Value, f.Null = "", true
	} else {
		f.Invalid = `must be one of "daily", "weekly", "monthly", "yearly" (or "none")`
	}
}

// listAliases are the other names of list parameters, in order of
// precedence after the canonical name, which wins. "completed" takes
// true/false for status=completed/pending, and "tags" comma-separated
// tags; the others take the canonical parameter's values.
var listAliases = []struct {
	canonical string
	aliases   []string
}{
	{"status", []string{"status_filter", "completed"}},
	{"tag", []string{"tags"}},
	{"q", []string{"search"}},
	{"sort", []string{"sort_by"}},
	{"order", []string{"sort_order"}},
}

// canonicalListQuery reads the list parameters from the raw query under
// their canonical names or their aliases (an empty value counts as absent)
// and returns them as the domain reads them. sentAs maps a canonical name
// to the alias its value came from, so that an error names the parameter
// the client sent. Alias values that have no canonical form
// (completed=maybe) go to q.Invalid, keyed by the name sent, for the
// domain to report with the rest.
func canonicalListQuery(v url.Values) (q todoapi.ListQuery, sentAs map[string]string) {
	sentAs, bad := map[string]string{}, map[string]string{}
	value := map[string]string{}
	for _, p := range listAliases {
		if s := v.Get(p.canonical); s != "" || nonEmpty(v[p.canonical]) {
			value[p.canonical] = s
			continue
		}
		for _, alias := range p.aliases {
			if s := v.Get(alias); s != "" || nonEmpty(v[alias]) {
				value[p.canonical], sentAs[p.canonical] = s, alias
				break
			}
		}
	}

	q = todoapi.ListQuery{
		Status:       value["status"],
		Priority:     v["priority"],
		Tag:          v["tag"],
		Q:            value["q"],
		DueBefore:    v.Get("due_before"),
		DueAfter:     v.Get("due_after"),
		Recurring:    v.Get("recurring"),
		RemindBefore: v.Get("remind_before"),
		RemindAfter:  v.Get("remind_after"),
		Sort:         value["sort"],
		Order:        value["order"],
		Limit:        v.Get("limit"),
		Cursor:       v.Get("cursor"),
		Offset:       v.Get("offset"),
	}
	if sentAs["status"] == "completed" {
		switch s := q.Status; {
		case strings.EqualFold(s, "true") || s == "1":
			q.Status = string(todoapi.StatusCompleted)
		case strings.EqualFold(s, "false") || s == "0":
			q.Status = string(todoapi.StatusPending)
		default:
			q.Status = ""
			bad["completed"] = "must be true or false"
		}
	}
	if sentAs["tag"] == "tags" {
		q.Tag = nil
		for _, s := range v["tags"] {
			q.Tag = append(q.Tag, strings.Split(s, ",")...)
		}
	}
	if len(bad) > 0 {
		q.Invalid = bad
	}
	return q, sentAs
}

// nonEmpty reports whether a repeated parameter has a non-empty value
// anywhere (the first one may be empty: ?tag=&tag=work).
func nonEmpty(values []string) bool {
	return slices.ContainsFunc(values, func(s string) bool { return s != "" })
}

// sentNames renames the fields of a validation error to the names the
// client sent them under, so that errors point at what the client can fix.
func sentNames(err error, sentAs map[string]string) error {
	var invalid *todoapi.ValidationError
	if len(sentAs) == 0 || !errors.As(err, &invalid) {
		return err
	}
	fields := make(map[string]string, len(invalid.Fields))
	for name, msg := range invalid.Fields {
		if sent, ok := sentAs[name]; ok {
			name = sent
		}
		fields[name] = msg
	}
	return &todoapi.ValidationError{Fields: fields}
}

// aliasTag groups the alias operations in the OpenAPI document, after the
// canonical ones.
const aliasTag = "Aliases"

// documentAliases adds the aliases to the OpenAPI document after the
// operations are registered: alias paths as deprecated copies of the
// canonical operations (tagged Aliases, which the documentation lists after
// Tasks), alias body keys and list parameters as deprecated properties and
// parameters after the canonical ones.
func (s *server) documentAliases() {
	oapi := s.api.OpenAPI()
	oapi.Tags = []*huma.Tag{
		{Name: "Tasks", Description: "The task API (canonical paths)."},
		{Name: aliasTag, Description: "Other spellings of the task API that frontends written for the Python " +
			"design use. Each behaves exactly as the canonical operation it names; prefer those."},
		{Name: "Service", Description: "Health and monitoring; no token."},
	}

	canonical := map[string]*huma.PathItem{}
	for path, item := range oapi.Paths {
		if strings.HasPrefix(path, "/api/{user_id}/") {
			canonical[path] = item
		}
	}
	for path, item := range canonical {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			// The same operation without a user id in the path.
			addAlias(oapi, op, op.Method, "/api/"+strings.TrimPrefix(path, "/api/{user_id}/"), "-no-user-id")
			if strings.HasSuffix(path, "/complete") {
				toggle := strings.TrimSuffix(path, "/complete") + "/toggle"
				for _, method := range []string{http.MethodPatch, http.MethodPost} {
					suffix := "-toggle-" + strings.ToLower(method)
					addAlias(oapi, op, method, toggle, suffix)
					addAlias(oapi, op, method, "/api/"+strings.TrimPrefix(toggle, "/api/{user_id}/"), suffix+"-no-user-id")
				}
			}
		}
	}

	registry := oapi.Components.Schemas
	for _, t := range []reflect.Type{reflect.TypeFor[newTaskBody](), reflect.TypeFor[taskPatchBody](), reflect.TypeFor[completeBody]()} {
		schema := registry.SchemaFromRef(registry.Schema(t, true, "").Ref)
		if schema == nil {
			continue
		}
		for name, aliases := range bodyAliases {
			orig := schema.Properties[name]
			if orig == nil {
				continue
			}
			for _, alias := range aliases {
				desc := "Alias of " + name + "; ignored when " + name + " is sent."
				if alias == "recurrence_pattern" {
					desc = "daily, weekly, monthly or yearly: alias of recurrence=FREQ=DAILY (…); \"none\" or null: no recurrence. " +
						"Ignored when recurrence or recurrence_rule is sent."
				}
				schema.Properties[alias] = &huma.Schema{Type: orig.Type, Deprecated: true, Description: desc}
			}
		}
	}

	if list := oapi.Paths["/api/{user_id}/tasks"].Get; list != nil {
		for _, op := range []*huma.Operation{list, oapi.Paths["/api/tasks"].Get} {
			op.Parameters = append(op.Parameters, listAliasParams()...)
		}
		addAlias(oapi, list, http.MethodGet, "/api/{user_id}/tasks/search", "-search")
		addAlias(oapi, list, http.MethodGet, "/api/tasks/search", "-search-no-user-id")
	}
}

// addAlias documents op under another method and path, deprecated.
func addAlias(oapi *huma.OpenAPI, op *huma.Operation, method, path, idSuffix string) {
	alias := *op
	alias.Method, alias.Path = method, path
	alias.OperationID = op.OperationID + idSuffix
	alias.Tags = []string{aliasTag}
	alias.Deprecated = true
	alias.Summary = op.Summary + " (alias)"
	alias.Description = "Alias of `" + op.Method + " " + op.Path + "`"
	if !strings.Contains(path, "{user_id}") {
		alias.Description += ", for the token's user"
		alias.Parameters = slices.DeleteFunc(slices.Clone(op.Parameters), func(p *huma.Param) bool {
			return p.In == "path" && p.Name == "user_id"
		})
	}
	alias.Description += ". " + op.Description
	oapi.AddOperation(&alias)
}

// listAliasParams documents the list parameter aliases.
func listAliasParams() []*huma.Param {
	str := &huma.Schema{Type: huma.TypeString}
	yes := true
	return []*huma.Param{
		{Name: "status_filter", In: "query", Deprecated: true, Schema: str,
			Description: "Alias of status; ignored when status is sent."},
		{Name: "completed", In: "query", Deprecated: true, Schema: &huma.Schema{Type: huma.TypeBoolean},
			Description: "true or false: alias of status=completed or status=pending; ignored when status or status_filter is sent."},
		{Name: "tags", In: "query", Deprecated: true, Explode: &yes,
			Schema:      &huma.Schema{Type: huma.TypeArray, Items: str},
			Description: "Alias of tag, also comma-separated (tags=a,b is tag=a&tag=b); ignored when tag is sent."},
		{Name: "search", In: "query", Deprecated: true, Schema: str,
			Description: "Alias of q; ignored when q is sent."},
		{Name: "sort_by", In: "query", Deprecated: true, Schema: str,
			Description: "Alias of sort; ignored when sort is sent."},
		{Name: "order", In: "query", Deprecated: true, Schema: &huma.Schema{Type: huma.TypeString, Enum: []any{"asc", "desc"}},
			Description: "asc or desc: the direction of sort (or sort_by, or the default created) when it has no leading -: asc is oldest, A to Z, earliest due or low priority first. created_at, updated_at and their other spellings list newest first unless order is asc."},
		{Name: "sort_order", In: "query", Deprecated: true, Schema: &huma.Schema{Type: huma.TypeString, Enum: []any{"asc", "desc"}},
			Description: "Alias of order; ignored when order is sent."},
	}
}
