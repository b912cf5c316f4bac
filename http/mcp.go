package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/metrics"
)

// mcpPath is where the MCP endpoint is served.
const mcpPath = "/mcp"

// mcpSettings is what the server knows about the MCP endpoint.
type mcpSettings struct {
	// resource is the endpoint's resource identifier, PublicURL/mcp.
	resource string
	// metadataURL is where its protected resource metadata is served.
	metadataURL string
	// metadata is that document.
	metadata protectedResource
}

// protectedResource is OAuth 2.0 Protected Resource Metadata (RFC 9728):
// how an MCP client that has no token learns where to get one.
type protectedResource struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name"`
}

func newMCPSettings(c Config) mcpSettings {
	base := strings.TrimRight(c.PublicURL, "/")
	resource := base + mcpPath
	return mcpSettings{
		resource:    resource,
		metadataURL: base + "/.well-known/oauth-protected-resource" + mcpPath,
		metadata: protectedResource{
			Resource:               resource,
			AuthorizationServers:   c.AuthorizationServers,
			BearerMethodsSupported: []string{"header"},
			ResourceName:           "todoapi tasks (MCP)",
		},
	}
}

// registerMCP serves h at /mcp, and the endpoint's protected resource
// metadata at the well-known path RFC 9728 derives from the resource
// (/.well-known/oauth-protected-resource/mcp) and at the root form, which
// clients that do not derive it read.
func (s *server) registerMCP(mux *http.ServeMux, h http.Handler) {
	if h == nil {
		return
	}
	// Stateless Streamable HTTP has POST only: no stream to resume (GET),
	// no session to end (DELETE). The mux answers other methods 405.
	mux.Handle("POST "+mcpPath, s.guardMCP(h))
	metadata := http.HandlerFunc(s.protectedResourceMetadata)
	mux.Handle("GET /.well-known/oauth-protected-resource"+mcpPath, metadata)
	mux.Handle("GET /.well-known/oauth-protected-resource", metadata)
}

// guardMCP puts /mcp behind what guards /api: the bearer token (the REST
// API's tokens, and tokens issued for this resource), the failed-token
// throttle, and the user's rate limit and bound on requests in flight,
// which /api shares, so that an agent and a frontend of one user spend one
// budget.
func (s *server) guardMCP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := s.authenticateRequest(r, s.mcp.resource)
		if err != nil {
			p := s.problemFor(r.Context(), err, "")
			if p.Status == http.StatusUnauthorized {
				// RFC 9728 §5.1: point the client at the metadata that
				// says where to get a token.
				challenge := p.headers["WWW-Authenticate"]
				param := `resource_metadata="` + s.mcp.metadataURL + `"`
				if challenge == "Bearer" {
					challenge += " " + param
				} else {
					challenge += ", " + param
				}
				p = withHeader(p, "WWW-Authenticate", challenge)
			}
			s.writeProblem(w, r, p)
			return
		}
		if ok, wait := s.userLimits.allow(user.ID); !ok {
			s.metrics.RateLimited(metrics.LimitUser)
			s.writeProblem(w, r, &limited{"too many requests", wait})
			return
		}
		// Tool calls count against the user's requests in flight, which
		// /api shares (limitInFlight).
		if r.Method == http.MethodPost {
			if !s.inFlight.enter(user.ID) {
				s.metrics.RateLimited(metrics.LimitInFlight)
				s.writeProblem(w, r, &limited{"too many requests in flight", inFlightRetry})
				return
			}
			defer s.inFlight.leave(user.ID)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.writeProblem(w, r, s.mcpBodyError(err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		pw := &mcpProblemWriter{ResponseWriter: w}
		h.ServeHTTP(pw, r.WithContext(todoapi.NewContextWithUser(r.Context(), user)))
		if pw.status != 0 {
			s.log.WarnContext(r.Context(), "mcp request refused", "request_id", requestID(r.Context()),
				"status", pw.status, "err", strings.TrimSpace(pw.text.String()))
			s.writeProblem(w, r, newProblem(pw.status, mcpRefusal(pw.status)))
		}
	})
}

// mcpBodyError is the problem for a /mcp body that could not be read
// whole: over the limit (guardBody bounds it), cut short or badly framed.
func (s *server) mcpBodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return newProblem(http.StatusRequestTimeout, "the request body was not received in time")
	}
	return errMalformedBody
}

// mcpProblemWriter holds back the MCP SDK's own error answers (plain text
// naming Go types and decoder internals, such as "cannot unmarshal … into
// Go value of type string") so that guardMCP answers them as every other
// refusal: a problem document in the service's words. Answers the SDK
// writes as JSON-RPC or event streams pass through untouched.
type mcpProblemWriter struct {
	http.ResponseWriter
	status int // the SDK's refusal, held back; 0 when none
	text   bytes.Buffer
}

func (w *mcpProblemWriter) WriteHeader(code int) {
	if code >= 400 && strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.status = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *mcpProblemWriter) Write(b []byte) (int, error) {
	if w.status != 0 {
		if w.text.Len() < 1024 {
			w.text.Write(b)
		}
		return len(b), nil
	}
	if w.Header().Get("Content-Type") == "application/json" {
		// The SDK writes a JSON answer whole, in one Write.
		if reworded, ok := rewordParamsError(b); ok {
			if _, err := w.ResponseWriter.Write(reworded); err != nil {
				return 0, err
			}
			return len(b), nil
		}
	}
	return w.ResponseWriter.Write(b)
}

// rpcError is a JSON-RPC error answer.
type rpcError struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// sdkDecodeError matches what the SDK's decoder says of params of the wrong
// shape: the method, and for a field of the wrong type, its path and Go
// type.
var (
	sdkMethod     = regexp.MustCompile(`^handling '([^']+)'`)
	sdkFieldError = regexp.MustCompile(`Go struct field [A-Za-z0-9_]+\.[A-Za-z0-9_]+\.([A-Za-z0-9_.]+) of type ([][*A-Za-z0-9_.]+)`)
)

// rewordParamsError rewrites a JSON-RPC error answer in which the SDK
// describes params it could not decode ("cannot unmarshal … into Go value
// of type mcp.ListToolsParams") as an invalid-params error in the
// service's words, naming the field and the JSON type it must have when
// the SDK said which. Any other answer is left alone (ok false).
func rewordParamsError(b []byte) ([]byte, bool) {
	if !bytes.Contains(b, []byte(`"error"`)) || !bytes.Contains(b, []byte("unmarshal")) {
		return nil, false
	}
	var e rpcError
	if json.Unmarshal(b, &e) != nil || e.Error == nil || !strings.Contains(e.Error.Message, "unmarshal") {
		return nil, false
	}
	msg := "invalid params: they must be a JSON object with the fields the method takes"
	if m := sdkMethod.FindStringSubmatch(e.Error.Message); m != nil {
		msg = "invalid params: " + m[1] + " takes a JSON object with the fields the MCP specification gives it"
	}
	if m := sdkFieldError.FindStringSubmatch(e.Error.Message); m != nil {
		msg = "invalid params: params." + m[1] + " must be " + jsonTypeOf(m[2])
	}
	e.Error.Code, e.Error.Message = -32602, msg // JSON-RPC's "Invalid params"
	out, err := json.Marshal(e)
	return out, err == nil
}

// jsonTypeOf names the JSON type that a Go type decodes from.
func jsonTypeOf(goType string) string {
	t := strings.TrimLeft(goType, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "a JSON object"
}

// Flush lets the SDK stream events; a held-back refusal has nothing to flush.
func (w *mcpProblemWriter) Flush() {
	if w.status == 0 {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

func (w *mcpProblemWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// mcpRefusal words the SDK's refusals by their status: what the client
// must change, without the SDK's internals.
func mcpRefusal(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "the request body is not a valid JSON-RPC message for this MCP endpoint"
	case http.StatusUnsupportedMediaType:
		return "Content-Type must be application/json"
	case http.StatusNotAcceptable:
		return "Accept must list both application/json and text/event-stream"
	}
	return strings.ToLower(http.StatusText(status))
}

// protectedResourceMetadata serves the metadata to any origin: it is public,
// and browser-based MCP clients read it before they have a token.
func (s *server) protectedResourceMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.mcp.metadata)
}
