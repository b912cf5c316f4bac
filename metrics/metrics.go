// Package metrics holds todoapi's Prometheus metrics behind a
// few plain methods, so that the packages which observe something (http,
// auth, the database wiring in cmd) need not know Prometheus.
//
// Every Metrics has its own registry instead of Prometheus' global one: tests
// build many handlers in one process, and a global registry would make the
// second registration of the same metric fail.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/todoapi/todoapi"
)

// namespace prefixes every metric of the service's own.
const namespace = "todoapi"

// PoolStats is one database connection pool's state at scrape time, as
// the stores report it.
type PoolStats = todoapi.PoolStats

// Metrics records what /metrics reports. Its methods are safe for
// concurrent use; a nil *Metrics records nothing.
type Metrics struct {
	registry *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	eventStreams  prometheus.Gauge
	rateLimited   *prometheus.CounterVec
	jwksRefreshes *prometheus.CounterVec
	toolCalls     *prometheus.CounterVec
	toolDuration  *prometheus.HistogramVec
	reminderDelay prometheus.Histogram
	reminderFails prometheus.Counter

	poolsMu sync.Mutex
	pools   func() []PoolStats
}

// Rate limits, as the "limit" label of todoapi_rate_limited_total names them.
const (
	LimitUser        = "user"         // the per-user token bucket
	LimitAuthFailure = "auth_failure" // the per-IP budget of failed authentications
	// LimitEventStreams is the bound on open event streams, per user and
	// per process.
	LimitEventStreams = "event_streams"
	// LimitInFlight is the per-user bound on requests being served at once.
	LimitInFlight = "in_flight"
)

// New returns a Metrics with the service's metrics and the Go runtime and
// process collectors registered.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help: "Time from receiving a request's headers to finishing its response, by route pattern and method.",
			// From a cached read (~1 ms) to a slow serverless cold start (~10 s).
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		eventStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "event_streams_open",
			Help: "Live event streams open in this process (EVENTS_MAX_STREAMS bounds them).",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "http_requests_in_flight",
			Help: "Requests being served right now.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rate_limited_total",
			Help: "Requests refused with 429, by limit: user (per-user token bucket), in_flight (per-user requests at once) or auth_failure (per-IP failed-authentication budget).",
		}, []string{"limit"}),
		jwksRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "jwks_refreshes_total",
			Help: "Attempts to fetch the JWKS, by result: ok or error.",
		}, []string{"result"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "mcp_tool_calls_total",
			Help: "MCP tool calls, by tool and outcome (ok, invalid, not_found, forbidden, quota, conflict, error).",
		}, []string{"tool", "outcome"}),
		toolDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "mcp_tool_call_duration_seconds",
			Help:    "Time a tool call spent in the service, by tool.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"tool"}),
		reminderDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "reminder_delay_seconds",
			Help: "Reminders this process sent, by how long after their time they went out.",
			// From on time to a process that was down for a while.
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300, 3600},
		}),
		reminderFails: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "reminder_rounds_failed_total",
			Help: "Rounds of the reminder scheduler that failed (the database unreachable, say); each is retried.",
		}),
	}
	// Label values known in advance start at zero, so that dashboards and
	// alerts see the series before the first event.
	for _, l := range []string{LimitUser, LimitAuthFailure, LimitEventStreams, LimitInFlight} {
		m.rateLimited.WithLabelValues(l)
	}
	for _, r := range []string{"ok", "error"} {
		m.jwksRefreshes.WithLabelValues(r)
	}
	m.registry.MustRegister(
		m.requests, m.duration, m.inFlight, m.eventStreams, m.rateLimited, m.jwksRefreshes,
		m.toolCalls, m.toolDuration, m.reminderDelay, m.reminderFails,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		poolCollector{m},
	)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Registry is where the metrics live, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// RequestStarted counts a request in flight; call the returned function
// when it has been answered.
func (m *Metrics) RequestStarted() (done func()) {
	if m == nil {
		return func() {}
	}
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// StreamOpened counts one more open event stream until closed is called.
func (m *Metrics) StreamOpened() (closed func()) {
	m.eventStreams.Inc()
	return m.eventStreams.Dec
}

// ObserveRequest records one answered request. route must be a pattern
// (/api/{user_id}/tasks), never a raw path, or the number of series grows
// with every task id.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// RateLimited counts one request refused by limit (LimitUser,
// LimitInFlight or LimitAuthFailure).
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(limit).Inc()
}

// JWKSRefresh counts one attempt to fetch the JWKS; err is nil on success.
func (m *Metrics) JWKSRefresh(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.jwksRefreshes.WithLabelValues(result).Inc()
}

// ToolCallsKnown starts the tool-call series of every tool and outcome at
// zero, so that dashboards and alerts see them before the first call.
func (m *Metrics) ToolCallsKnown(tools, outcomes []string) {
	if m == nil {
		return
	}
	for _, tool := range tools {
		for _, outcome := range outcomes {
			m.toolCalls.WithLabelValues(tool, outcome)
		}
	}
}

// ToolCall records one MCP tool call and its outcome. tool and outcome come
// from fixed lists, never from the client, so the series stay bounded.
func (m *Metrics) ToolCall(tool, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.toolCalls.WithLabelValues(tool, outcome).Inc()
	m.toolDuration.WithLabelValues(tool).Observe(d.Seconds())
}

// ReminderSent records a reminder sent late after its time.
func (m *Metrics) ReminderSent(late time.Duration) {
	if m == nil {
		return
	}
	m.reminderDelay.Observe(late.Seconds())
}

// ReminderRoundFailed records a failed round of the reminder scheduler.
func (m *Metrics) ReminderRoundFailed() {
	if m == nil {
		return
	}
	m.reminderFails.Inc()
}

// SetPoolStats makes each scrape report the pools stats returns. It is
// called once, by whoever opened the database; stats runs at scrape time
// and must be cheap.
func (m *Metrics) SetPoolStats(stats func() []PoolStats) {
	m.poolsMu.Lock()
	defer m.poolsMu.Unlock()
	m.pools = stats
}

var (
	poolMaxDesc = prometheus.NewDesc(namespace+"_db_pool_max_connections",
		"Most connections the pool may open (0: unlimited).", []string{"pool"}, nil)
	poolOpenDesc = prometheus.NewDesc(namespace+"_db_pool_open_connections",
		"Connections the pool holds, in use or idle.", []string{"pool"}, nil)
	poolInUseDesc = prometheus.NewDesc(namespace+"_db_pool_in_use_connections",
		"Connections currently in use.", []string{"pool"}, nil)
	poolIdleDesc = prometheus.NewDesc(namespace+"_db_pool_idle_connections",
		"Idle connections.", []string{"pool"}, nil)
	poolWaitDesc = prometheus.NewDesc(namespace+"_db_pool_waits_total",
		"Acquisitions that had to wait for a free connection.", []string{"pool"}, nil)
	poolWaitSecondsDesc = prometheus.NewDesc(namespace+"_db_pool_wait_seconds_total",
		"Total time spent waiting for a free connection.", []string{"pool"}, nil)
)

// poolCollector reads the pool statistics at scrape time, so they are
// never stale and cost nothing between scrapes.
type poolCollector struct{ m *Metrics }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxDesc, poolOpenDesc, poolInUseDesc, poolIdleDesc, poolWaitDesc, poolWaitSecondsDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.poolsMu.Lock()
	stats := c.m.pools
	c.m.poolsMu.Unlock()
	if stats == nil {
		return
	}
	for _, p := range stats() {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, p.Pool)
		}
		gauge(poolMaxDesc, float64(p.MaxOpen))
		gauge(poolOpenDesc, float64(p.Open))
		gauge(poolInUseDesc, float64(p.InUse))
		gauge(poolIdleDesc, float64(p.Idle))
		ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, float64(p.WaitCount), p.Pool)
		ch <- prometheus.MustNewConstMetric(poolWaitSecondsDesc, prometheus.CounterValue, p.WaitDuration.Seconds(), p.Pool)
	}
}
