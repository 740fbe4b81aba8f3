package httpapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

// loanView is a request as admins see it.
type loanView struct {
	ID             int64         `json:"id"`
	TrackingCode   string        `json:"tracking_code"`
	FullName       string        `json:"full_name"`
	Email          string        `json:"email"`
	DocumentNumber string        `json:"document_number"`
	Gender         domain.Gender `json:"gender"`
	Amount         int64         `json:"amount"`
	Status         domain.Status `json:"status"`
	Reason         domain.Reason `json:"reason"`
	Score          *int          `json:"score"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
	DecidedAt      *time.Time    `json:"decided_at"`
	DecidedBy      string        `json:"decided_by"`
	DeletedAt      *time.Time    `json:"deleted_at"`
	ErasedAt       *time.Time    `json:"erased_at"`
}

func viewOf(l *domain.LoanRequest) loanView {
	return loanView{ID: l.ID, TrackingCode: l.TrackingCode, FullName: l.FullName, Email: l.Email,
		DocumentNumber: l.DocumentNumber, Gender: l.Gender, Amount: l.Amount, Status: l.Status, Reason: l.Reason,
		Score: l.Score, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, DecidedAt: l.DecidedAt, DecidedBy: l.DecidedBy,
		DeletedAt: l.DeletedAt, ErasedAt: l.ErasedAt}
}

// sessionView is a session as its browser sees it, with what a second
// step of the login has to show once.
type sessionView struct {
	Email     string `json:"email"`
	CSRFToken string `json:"csrf_token"`
	// MFA is the login's step still to do: "verify", "enrol", or "done".
	MFA         string `json:"mfa"`
	MFAEnrolled bool   `json:"mfa_enrolled"`
	// RecoveryCodes: after an enrolment, shown this once.
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
	// RecoveryCodesLeft: after a login with a recovery code.
	RecoveryCodesLeft *int `json:"recovery_codes_left,omitempty"`
}

func viewSession(s domain.Session) sessionView {
	return sessionView{Email: s.Email, CSRFToken: s.CSRFToken, MFA: cmp.Or(s.MFA, "done"), MFAEnrolled: s.TOTP}
}

// deviceCookie marks a browser where an admin logged in before; a login
// from it is not held up by guesses at the account from elsewhere.
const (
	deviceCookie    = "loandesk_device"
	deviceCookieAge = domain.DeviceMaxAge
)

func handleLogin(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		attempt := domain.LoginAttempt{Email: in.Email, Password: in.Password, Client: cfg.Client.Key(r)}
		if c, err := r.Cookie(deviceCookie); err == nil {
			attempt.Device = c.Value
		}
		done, err := cfg.Auth.Login(r.Context(), attempt)
		if err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		loggedIn(w, cfg, done)
		writeJSON(w, http.StatusOK, viewSession(done.Session))
	})
}

// loggedIn hands the browser its session cookie, and its device cookie
// after a whole login.
func loggedIn(w http.ResponseWriter, cfg Config, done domain.LoggedIn) {
	setSession(w, cfg, done.Token)
	if done.Device != "" {
		// Sent only to the login: it names the browser to the login limits
		// (domain.LoginLimits.PerDevice), nothing else.
		http.SetCookie(w, &http.Cookie{
			Name: deviceCookie, Value: done.Device, Path: "/api/v1/admin/session", MaxAge: int(deviceCookieAge.Seconds()),
			HttpOnly: true, Secure: cfg.CookieSecure, SameSite: http.SameSiteStrictMode,
		})
	}
}

// handleMFAVerify is a login's second step: a TOTP or recovery code.
func handleMFAVerify(cfg Config) http.Handler {
	return handleStep(cfg, Auth.VerifyMFA)
}

// handleConfirmEnrolment turns TOTP on with the first code from the app;
// the answer holds the recovery codes, shown this once.
func handleConfirmEnrolment(cfg Config) http.Handler {
	return handleStep(cfg, Auth.ConfirmEnrolment)
}

type stepFunc func(a Auth, ctx context.Context, token string, s domain.Session, code, client string) (domain.MFADone, error)

func handleStep(cfg Config, step stepFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Code string `json:"code"`
		}
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		c, _ := r.Cookie(sessionCookie) // requireSession found it
		done, err := step(cfg.Auth, r.Context(), c.Value, sessionFrom(r.Context()), in.Code, cfg.Client.Key(r))
		if err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		loggedIn(w, cfg, done.LoggedIn)
		v := viewSession(done.Session)
		v.RecoveryCodes, v.RecoveryCodesLeft = done.RecoveryCodes, done.RecoveryLeft
		writeJSON(w, http.StatusOK, v)
	})
}

// handleStartEnrolment makes a TOTP secret for the admin's app: the QR
// code to scan, and the secret to type where a camera is no use.
func handleStartEnrolment(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cfg.Auth.StartEnrolment(r.Context(), sessionFrom(r.Context()))
		if err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Secret string `json:"secret"`
			URL    string `json:"otpauth_url"`
			QR     string `json:"qr_code"`
		}{e.Secret, e.URL, "data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG)})
	})
}

// setSession hands the browser its session cookie.
func setSession(w http.ResponseWriter, cfg Config, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/api/", MaxAge: int(cfg.SessionTTL.Seconds()),
		HttpOnly: true, Secure: cfg.CookieSecure, SameSite: http.SameSiteStrictMode,
	})
}

// handleChangePassword changes the admin's own password; the answer is the
// new session (cookie and CSRF token) that replaces this one, every other
// session of the account having ended.
func handleChangePassword(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Current string `json:"current_password"`
			New     string `json:"new_password"`
		}
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		c, _ := r.Cookie(sessionCookie) // requireAdmin found it
		done, err := cfg.Auth.ChangePassword(r.Context(), domain.PasswordChange{Token: c.Value, Session: sessionFrom(r.Context()),
			Current: in.Current, New: in.New, Client: cfg.Client.Key(r)})
		if err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		setSession(w, cfg, done.Token)
		writeJSON(w, http.StatusOK, viewSession(done.Session))
	})
}

func handleWhoAmI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, viewSession(sessionFrom(r.Context())))
	})
}

func handleLogout(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie(sessionCookie)
		if err := cfg.Auth.Logout(r.Context(), c.Value); err != nil {
			writeError(w, r, cfg.Log, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/api/", MaxAge: -1,
			HttpOnly: true, Secure: cfg.CookieSecure, SameSite: http.SameSiteStrictMode})
		w.WriteHeader(http.StatusNoContent)
	})
}

// listQuery is the list's query string, as the domain reads it
// (domain.ListQuery.Filter names every bad parameter).
func listQuery(r *http.Request) domain.ListQuery {
	q := r.URL.Query()
	return domain.ListQuery{Status: q.Get("status"), From: q.Get("from"), To: q.Get("to"), Q: q.Get("q"),
		Limit: q.Get("limit"), Cursor: q.Get("cursor"), Deleted: q.Get("deleted")}
}

func handleList(desk Desk, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := desk.List(r.Context(), sessionFrom(r.Context()).Actor(), listQuery(r))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		items := make([]loanView, 0, len(page.Items))
		for i := range page.Items {
			items = append(items, viewOf(&page.Items[i]))
		}
		var next *string
		if page.Next != nil {
			c := page.Next.String()
			next = &c
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next,
			"total": page.Total, "total_is_lower_bound": page.TotalAtLeast})
	})
}

// pathID reads {id}; a malformed id is simply not found.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, domain.Errorf(domain.ENOTFOUND, "request not found")
	}
	return id, nil
}

func handleDetail(desk Desk, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		l, events, err := desk.Detail(r.Context(), sessionFrom(r.Context()).Actor(), id)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if events == nil {
			events = []domain.AuditEvent{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"request": viewOf(l), "events": events})
	})
}

func handleChangeStatus(desk Desk, log *slog.Logger) http.Handler {
	return handleAction(desk, log, func(d Desk, w http.ResponseWriter, r *http.Request, a domain.Actor, id int64) (*domain.LoanRequest, error) {
		var in struct {
			Status  domain.Status `json:"status"`
			Comment string        `json:"comment"`
		}
		if err := decode(w, r, &in); err != nil {
			return nil, err
		}
		return d.ChangeStatus(r.Context(), a, id, in.Status, in.Comment)
	})
}

// adminAction changes one request; handleAction does the rest.
type adminAction func(desk Desk, w http.ResponseWriter, r *http.Request, actor domain.Actor, id int64) (*domain.LoanRequest, error)

func handleAction(desk Desk, log *slog.Logger, act adminAction) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		l, err := act(desk, w, r, sessionFrom(r.Context()).Actor(), id)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, viewOf(l))
	})
}

func handleDelete(desk Desk, log *slog.Logger) http.Handler {
	return handleAction(desk, log, func(d Desk, _ http.ResponseWriter, r *http.Request, a domain.Actor, id int64) (*domain.LoanRequest, error) {
		return d.DeleteRequest(r.Context(), a, id, "")
	})
}

func handleRestore(desk Desk, log *slog.Logger) http.Handler {
	return handleAction(desk, log, func(d Desk, _ http.ResponseWriter, r *http.Request, a domain.Actor, id int64) (*domain.LoanRequest, error) {
		return d.RestoreRequest(r.Context(), a, id, "")
	})
}

// handleErase erases the applicant of a request from every request they
// filed; the body's document number is the admin's confirmation.
func handleErase(desk Desk, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			DocumentNumber string `json:"document_number"`
		}
		id, err := pathID(r)
		if err == nil {
			err = decode(w, r, &in)
		}
		var done domain.Erased
		if err == nil {
			done, err = desk.EraseApplicant(r.Context(), sessionFrom(r.Context()).Actor(), id, in.DocumentNumber)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Erased  int      `json:"erased"`
			Request loanView `json:"request"`
		}{done.Requests, viewOf(done.Request)})
	})
}

// handleAudit is a page of the security log (domain.AuditQuery's filters).
func handleAudit(audit Audit, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page, err := audit.Page(r.Context(), domain.AuditQuery{Admin: q.Get("admin"), Request: q.Get("request"), Day: q.Get("day"),
			Cursor: q.Get("cursor"), Limit: q.Get("limit")})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, page)
	})
}

func handleStats(desk Desk, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := desk.Stats(r.Context())
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
}

func handleActivity(desk Desk, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := desk.Activity(r.Context())
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	})
}
