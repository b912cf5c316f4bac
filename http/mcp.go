package http

import (
	"encoding/json"
	"net/http"
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
		h.ServeHTTP(w, r.WithContext(todoapi.NewContextWithUser(r.Context(), user)))
	})
}

// protectedResourceMetadata serves the metadata to any origin: it is public,
// and browser-based MCP clients read it before they have a token.
func (s *server) protectedResourceMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.mcp.metadata)
}
