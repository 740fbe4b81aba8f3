package httpapi

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loandesk/loandesk/internal/obs"
)

// route is one entry of the API. Path is in the spec's notation, so the
// same table registers the routes and feeds the test that compares them
// with api/openapi.yaml.
type route struct {
	Method, Path string
	Handler      http.Handler
	// Unlisted routes are not part of the public contract.
	Unlisted bool
}

// routes is every route of the API, with its middleware: who may call it
// (admin) and how often (limit).
func routes(cfg Config, draining *atomic.Bool) []route {
	admin := requireAdmin(cfg.Auth, cfg.Log)
	// A login's second step reaches only these: who it is, logging out,
	// and the step itself.
	step := requireSession(cfg.Auth, cfg.Log, true)
	// Reads of applicants' data, each logged: at most AdminReadRate per admin.
	reads := func(h http.Handler) http.Handler {
		return admin(perAdmin(cfg.Limiter, "reads", cfg.AdminReadRate, cfg.Log)(h))
	}
	perClient := func(name string) func(http.Handler) http.Handler {
		return limit(cfg.Limiter, name, cfg.SubmitRate, cfg.Client, cfg.Log)
	}
	return []route{
		{"POST", "/api/v1/requests", perClient("submit")(handleSubmit(cfg.Desk, cfg.Log)), false},
		{"GET", "/api/v1/requests/{tracking_code}", handleTrack(cfg.Desk, cfg.Log), false},

		// Login limits are per account and address (domain.LoginLimits),
		// so they are applied where the account is known: in domain.Auth.
		{"POST", "/api/v1/admin/session", handleLogin(cfg), false},
		{"GET", "/api/v1/admin/session", step(handleWhoAmI()), false},
		{"DELETE", "/api/v1/admin/session", step(handleLogout(cfg)), false},
		{"POST", "/api/v1/admin/mfa/verify", step(handleMFAVerify(cfg)), false},
		{"POST", "/api/v1/admin/mfa/enrolment", step(handleStartEnrolment(cfg)), false},
		{"POST", "/api/v1/admin/mfa/enrolment/confirm", step(handleConfirmEnrolment(cfg)), false},
		{"POST", "/api/v1/admin/password", admin(handleChangePassword(cfg)), false},
		{"GET", "/api/v1/admin/requests", reads(handleList(cfg.Desk, cfg.Log)), false},
		{"GET", "/api/v1/admin/requests/{id}", reads(handleDetail(cfg.Desk, cfg.Log)), false},
		{"DELETE", "/api/v1/admin/requests/{id}", admin(handleDelete(cfg.Desk, cfg.Log)), false},
		{"POST", "/api/v1/admin/requests/{id}/status", admin(handleChangeStatus(cfg.Desk, cfg.Log)), false},
		{"POST", "/api/v1/admin/requests/{id}/restore", admin(handleRestore(cfg.Desk, cfg.Log)), false},
		{"POST", "/api/v1/admin/requests/{id}/erase", admin(handleErase(cfg.Desk, cfg.Log)), false},
		{"GET", "/api/v1/admin/stats", admin(handleStats(cfg.Desk, cfg.Log)), false},
		{"GET", "/api/v1/admin/activity", admin(handleActivity(cfg.Desk, cfg.Log)), false},
		{"GET", "/api/v1/admin/audit", admin(handleAudit(cfg.Audit, cfg.Log)), false},

		{"GET", "/api/openapi.yaml", handleSpec(cfg.Spec), false},
		{"GET", "/healthz", handleHealthz(), false},
		{"GET", "/readyz", handleReadyz(cfg.Ready, draining), false},
		// Scraped inside the private network only; web does not proxy it.
		{"GET", "/metrics", promhttp.HandlerFor(cfg.Metrics.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true}), true},
	}
}

// Route is a public route of the API, in the spec's notation.
type Route struct{ Method, Path string }

// Routes lists the public routes (the contract test compares them with
// api/openapi.yaml both ways).
func Routes() []Route {
	var out []Route
	for _, r := range routes(Config{Metrics: obs.NewMetrics()}, new(atomic.Bool)) {
		if !r.Unlisted {
			out = append(out, Route{r.Method, r.Path})
		}
	}
	return out
}
