package httpapi

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Route is one entry of the API, for the test that compares routes and spec.
type Route struct{ Method, Path string }

// Routes lists every API route in the spec's notation. addRoutes registers
// exactly these (a test checks both against api/openapi.yaml).
var Routes = []Route{
	{"POST", "/api/v1/requests"},
	{"GET", "/api/v1/requests/{tracking_code}"},
	{"POST", "/api/v1/admin/session"},
	{"GET", "/api/v1/admin/session"},
	{"DELETE", "/api/v1/admin/session"},
	{"GET", "/api/v1/admin/requests"},
	{"GET", "/api/v1/admin/requests/{id}"},
	{"DELETE", "/api/v1/admin/requests/{id}"},
	{"POST", "/api/v1/admin/requests/{id}/status"},
	{"POST", "/api/v1/admin/requests/{id}/restore"},
	{"GET", "/api/v1/admin/stats"},
	{"GET", "/api/openapi.yaml"},
	{"GET", "/healthz"},
	{"GET", "/readyz"},
}

func addRoutes(mux *http.ServeMux, cfg Config, draining *atomic.Bool) {
	admin := requireAdmin(cfg.Auth, cfg.Log)

	mux.Handle("POST /api/v1/requests", handleSubmit(cfg))
	mux.Handle("GET /api/v1/requests/{tracking_code}", handleTrack(cfg.Desk, cfg.Log))

	mux.Handle("POST /api/v1/admin/session", handleLogin(cfg))
	mux.Handle("GET /api/v1/admin/session", admin(handleWhoAmI()))
	mux.Handle("DELETE /api/v1/admin/session", admin(handleLogout(cfg)))
	mux.Handle("GET /api/v1/admin/requests", admin(handleList(cfg.Desk, cfg.Log)))
	mux.Handle("GET /api/v1/admin/requests/{id}", admin(handleDetail(cfg.Desk, cfg.Log)))
	mux.Handle("DELETE /api/v1/admin/requests/{id}", admin(handleDelete(cfg.Desk, cfg.Log)))
	mux.Handle("POST /api/v1/admin/requests/{id}/status", admin(handleChangeStatus(cfg.Desk, cfg.Log)))
	mux.Handle("POST /api/v1/admin/requests/{id}/restore", admin(handleRestore(cfg.Desk, cfg.Log)))
	mux.Handle("GET /api/v1/admin/stats", admin(handleStats(cfg.Desk, cfg.Log)))

	mux.Handle("GET /api/openapi.yaml", handleSpec(cfg.Spec))
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(cfg.Ready, draining))
	// Not in the public contract: scraped inside the private network only.
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics.Registry, promhttp.HandlerOpts{}))
}
