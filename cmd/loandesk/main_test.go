package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pquerna/otp/totp"

	"github.com/loandesk/loandesk/api"
	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/httpapi"
	identityprov "github.com/loandesk/loandesk/internal/provider/identity"
	scoringprov "github.com/loandesk/loandesk/internal/provider/scoring"
	"github.com/loandesk/loandesk/internal/testenv"
)

// app is a running `loandesk serve` plus a client that checks every
// exchange against api/openapi.yaml.
type app struct {
	t      *testing.T
	base   string
	client *http.Client
	spec   validator.Validator
	stop   func() error
}

// lineWriter hands each complete log line to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- line:
		default:
		}
	}
}

func specValidator(t *testing.T) validator.Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("loading spec: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("api/openapi.yaml is not a valid OpenAPI document: %v", verrs)
	}
	return v
}

func getenvOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// baseVars is a working configuration for serve and worker, with real
// provider stand-ins and a fresh, migrated database.
func baseVars(t *testing.T) map[string]string {
	t.Helper()
	scoring := httptest.NewServer(scoringprov.Handler())
	identity := httptest.NewServer(identityprov.Handler())
	t.Cleanup(scoring.Close)
	t.Cleanup(identity.Close)
	return map[string]string{
		"APP_ENV": "development", "LISTEN_ADDR": "127.0.0.1:0", "WORKER_LISTEN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "debug",
		"DATABASE_URL": testenv.DatabaseURL(t), "VALKEY_URL": testenv.ValkeyURL(t),
		"VALKEY_PREFIX": fmt.Sprintf("e2e:%d:", time.Now().UnixNano()),
		"SCORING_URL":   scoring.URL, "IDENTITY_URL": identity.URL,
		"SESSION_KEY": "test-session-key-0123456789abcdef", "ADMIN_EMAIL": "Admin@Example.com", "ADMIN_PASSWORD": "s3cret-pass-word",
		"SHUTDOWN_DRAIN_DELAY": "10ms", "SUBMIT_RATE_LIMIT": "1000", "WORKER_RETRY_BASE": "50ms", "WORKER_RETRY_MAX": "200ms",
	}
}

// process runs `loandesk cmd` through run() until the test ends; it returns
// the address it listens on (from its log) and a stop that acts like SIGTERM.
func process(t *testing.T, cmd string, vars map[string]string) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 1000)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"loandesk", cmd}, getenvOf(vars), strings.NewReader(""), out, io.Discard)
	}()
	addrRE := regexp.MustCompile(`"msg":"listening".*"addr":"([^"]+)"`)
	var addr string
	deadline := time.After(20 * time.Second)
	for addr == "" {
		select {
		case line := <-out.lines:
			if m := addrRE.FindStringSubmatch(line); m != nil {
				addr = m[1]
			}
		case err := <-done:
			cancel()
			t.Fatalf("%s exited before listening: %v", cmd, err)
		case <-deadline:
			cancel()
			t.Fatalf("%s did not start listening within 20 s", cmd)
		}
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(10 * time.Second):
				stopErr = fmt.Errorf("%s did not stop within 10 s of SIGTERM", cmd)
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + addr, stop
}

func startApp(t *testing.T, extra map[string]string) *app {
	t.Helper()
	vars := baseVars(t)
	for k, v := range extra {
		vars[k] = v
	}
	base, stop := process(t, "serve", vars)
	jar, _ := cookiejar.New(nil)
	a := &app{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}, spec: specValidator(t), stop: stop}
	// Mat Ryer's pattern: wait until the server says it is ready.
	for i := 0; ; i++ {
		resp, err := http.Get(a.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 100 {
			t.Fatal("never ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return a
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// do sends a request and checks the response against the spec.
func (a *app) do(method, path, body string, headers ...string) reply {
	a.t.Helper()
	return a.send(true, method, path, body, headers...)
}

// doUnlisted sends a request to a route the spec does not list.
func (a *app) doUnlisted(method, path, body string) reply {
	a.t.Helper()
	return a.send(false, method, path, body)
}

func (a *app) send(validate bool, method, path, body string, headers ...string) reply {
	a.t.Helper()
	build := func() *http.Request {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, a.base+path, rd)
		if err != nil {
			a.t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return req
	}
	resp, err := a.client.Do(build())
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Validate the response against the contract. The validator reads the
	// request too, so give it a fresh copy.
	check := build()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if ok, errs := a.spec.ValidateHttpResponse(check, resp); validate && !ok {
		for _, e := range errs {
			a.t.Errorf("%s %s → %d does not match api/openapi.yaml: %s %s", method, path, resp.StatusCode, e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				a.t.Errorf("  %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (a *app) expect(r reply, status int, what string) {
	a.t.Helper()
	if r.status != status {
		a.t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
}

func (a *app) expectProblem(r reply, status int, code, what string) map[string]any {
	a.t.Helper()
	a.expect(r, status, what)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		a.t.Fatalf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	p := r.json(a.t)
	if p["code"] != code || p["status"] != float64(status) || p["request_id"] == "" {
		a.t.Fatalf("%s: problem %v, want code %s", what, p, code)
	}
	return p
}

func application(doc, name string) string {
	b, _ := json.Marshal(map[string]any{"full_name": name, "email": "ana@example.com", "document_number": doc, "gender": "F", "amount": 150000})
	return string(b)
}

func TestPublicFlow(t *testing.T) {
	a := startApp(t, nil)
	r := a.do("POST", "/api/v1/requests", application("30123950", "Ana Aprobada"), "Idempotency-Key", "e2e-key-approved")
	a.expect(r, 201, "submit")
	rec := r.json(t)
	if rec["status"] != "approved" || rec["reason"] != "score" {
		t.Fatalf("receipt %v", rec)
	}
	code := rec["tracking_code"].(string)
	if r.header.Get("Location") != "/api/v1/requests/"+code {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	again := a.do("POST", "/api/v1/requests", application("30123950", "Ana Aprobada"), "Idempotency-Key", "e2e-key-approved")
	a.expect(again, 201, "repeat")
	if again.header.Get("Idempotent-Replayed") != "true" || again.json(t)["tracking_code"] != code {
		t.Fatalf("repeat was not a replay: %s %v", again.body, again.header)
	}
	a.expectProblem(a.do("POST", "/api/v1/requests", application("30123951", "Ana Aprobada"), "Idempotency-Key", "e2e-key-approved"), 409, "conflict", "key reuse")

	tr := a.do("GET", "/api/v1/requests/"+code, "")
	a.expect(tr, 200, "track")
	if strings.Contains(string(tr.body), "Ana") || strings.Contains(string(tr.body), "30123950") {
		t.Fatalf("status page leaks personal data: %s", tr.body)
	}
	a.expectProblem(a.do("GET", "/api/v1/requests/LD-0000000000", ""), 404, "not_found", "unknown code")
	a.expectProblem(a.do("GET", "/api/v1/requests/'%20OR%201=1", ""), 404, "not_found", "garbage code")

	rej := a.do("POST", "/api/v1/requests", application("99123950", "Ana Impostora"), "Idempotency-Key", "e2e-key-identity")
	a.expect(rej, 201, "identity mismatch")
	if j := rej.json(t); j["status"] != "rejected" || j["reason"] != "identity" {
		t.Fatalf("identity mismatch receipt %v", j)
	}
}

func TestBadInputGetsProblems(t *testing.T) {
	a := startApp(t, nil)
	key := []string{"Idempotency-Key", "e2e-key-bad-input"}
	p := a.expectProblem(a.do("POST", "/api/v1/requests", `{"full_name": "Ana"`, key...), 400, "invalid", "truncated JSON")
	if !strings.Contains(p["detail"].(string), "JSON") {
		t.Fatalf("detail %v", p["detail"])
	}
	a.expectProblem(a.do("POST", "/api/v1/requests", `[1,2]`, key...), 400, "invalid", "array body")
	a.expectProblem(a.do("POST", "/api/v1/requests", `{"x":1}`, key...), 400, "invalid", "unknown field")
	for _, body := range []string{
		`{"full_name":"Ana Maria","email":"ana@example.com","document_number":"30123950","gender":"F","amount":10000,"amount":5000000}`,
		`{"full_name":"Ana Maria","email":"ana@example.com","document_number":"30123950","gender":"F","amount":10000,"AMOUNT":5000000}`,
		`{"Full_Name":"Ana Maria","email":"ana@example.com","document_number":"30123950","gender":"F","amount":10000}`,
	} {
		a.expectProblem(a.do("POST", "/api/v1/requests", body, key...), 400, "invalid", "repeated or case-variant key "+body)
	}
	p = a.expectProblem(a.do("POST", "/api/v1/requests", `{"full_name":"Ana Maria","email":"nope","document_number":"12","gender":"Q","amount":10000.5}`, key...), 400, "invalid", "every field bad")
	errs := p["errors"].(map[string]any)
	for _, f := range []string{"email", "document_number", "gender", "amount"} {
		if errs[f] == nil {
			t.Errorf("no message for %s: %v", f, errs)
		}
	}
	a.expectProblem(a.do("POST", "/api/v1/requests", application("30123950", "Ana Sin Clave")), 400, "invalid", "no Idempotency-Key")
	r := a.do("POST", "/api/v1/requests", strings.Repeat(" ", 70<<10)+"{}", key...)
	a.expectProblem(r, 400, "invalid", "huge body")
	a.expectProblem(a.doUnlisted("GET", "/api/v1/nope", ""), 404, "not_found", "unknown route")
	r = a.doUnlisted("PUT", "/api/v1/requests", "")
	a.expectProblem(r, 405, "not_found", "wrong method")
	if r.header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
	// Nothing was filed by any of that.
	a.login()
	if st := a.do("GET", "/api/v1/admin/stats", "").json(t); st["in_review"].(float64)+st["approved"].(float64)+st["rejected"].(float64) != 0 {
		t.Fatalf("bad input filed requests: %v", st)
	}
}

func (a *app) login() string {
	a.t.Helper()
	r := a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"s3cret-pass-word"}`)
	a.expect(r, 200, "login")
	c := r.header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/api/"} {
		if !strings.Contains(c, want) {
			a.t.Fatalf("session cookie %q lacks %s", c, want)
		}
	}
	return r.json(a.t)["csrf_token"].(string)
}

func TestAdminFlow(t *testing.T) {
	vars := baseVars(t)
	a := startApp(t, vars)
	a.expectProblem(a.do("GET", "/api/v1/admin/requests", ""), 401, "unauthorized", "no session")
	a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"wrong"}`), 401, "unauthorized", "wrong password")
	for i, doc := range []string{"30123950", "30123120", "30123960"} {
		a.expect(a.do("POST", "/api/v1/requests", application(doc, fmt.Sprintf("Persona %d <b>x</b>", i)), "Idempotency-Key", "admin-flow-"+doc), 201, "submit")
	}
	csrf := a.login()
	a.expect(a.do("GET", "/api/v1/admin/session", ""), 200, "whoami")

	list := a.do("GET", "/api/v1/admin/requests?limit=2", "")
	a.expect(list, 200, "list")
	l := list.json(t)
	if l["total"] != float64(3) || l["total_is_lower_bound"] != false || len(l["items"].([]any)) != 2 {
		t.Fatalf("list %v", l)
	}
	// The next page, from the cursor the first gave; the last has none.
	next := a.do("GET", "/api/v1/admin/requests?limit=2&cursor="+url.QueryEscape(l["next_cursor"].(string)), "").json(t)
	if items := next["items"].([]any); len(items) != 1 || next["next_cursor"] != nil ||
		items[0].(map[string]any)["id"] == l["items"].([]any)[1].(map[string]any)["id"] {
		t.Fatalf("second page %v", next)
	}
	a.expectProblem(a.do("GET", "/api/v1/admin/requests?cursor=forged", ""), 400, "invalid", "a cursor the list did not give")
	a.expectProblem(a.do("GET", "/api/v1/admin/requests?q=ab", ""), 400, "invalid", "a search too short for the index")
	act := a.do("GET", "/api/v1/admin/activity", "")
	a.expect(act, 200, "activity")
	days := act.json(t)["days"].([]any)
	if last := days[len(days)-1].(map[string]any); len(days) != 30 || last["approved"] != float64(2) || last["rejected"] != float64(1) {
		t.Fatalf("activity: %d days, today %v", len(days), last)
	}
	approved := a.do("GET", "/api/v1/admin/requests?status=approved&q=persona", "").json(t)
	if approved["total"] != float64(2) {
		t.Fatalf("filter approved: %v", approved)
	}
	a.expectProblem(a.do("GET", "/api/v1/admin/requests?status=paid&from=yesterday", ""), 400, "invalid", "bad filter")
	today := time.Now().UTC().Format(time.DateOnly)
	if r := a.do("GET", "/api/v1/admin/requests?from="+today+"&to="+today, "").json(t); r["total"] != float64(3) {
		t.Fatalf("date filter for today: %v", r)
	}

	item := approved["items"].([]any)[0].(map[string]any)
	id := fmt.Sprint(int64(item["id"].(float64)))
	change := `{"status":"rejected","comment":"ingresos no verificados"}`
	a.expectProblem(a.do("POST", "/api/v1/admin/requests/"+id+"/status", change), 403, "forbidden", "no CSRF token")
	a.expectProblem(a.do("POST", "/api/v1/admin/requests/"+id+"/status", change, "X-CSRF-Token", "forged"), 403, "forbidden", "wrong CSRF token")
	a.expectProblem(a.do("POST", "/api/v1/admin/requests/"+id+"/status", `{"status":"rejected","comment":" "}`, "X-CSRF-Token", csrf), 400, "invalid", "blank comment")
	r := a.do("POST", "/api/v1/admin/requests/"+id+"/status", change, "X-CSRF-Token", csrf)
	a.expect(r, 200, "change status")
	if j := r.json(t); j["status"] != "rejected" || j["reason"] != "manual" || j["decided_by"] != "admin@example.com" {
		t.Fatalf("after change: %v", j)
	}
	a.expectProblem(a.do("DELETE", "/api/v1/admin/requests/"+id, "", "X-CSRF-Token", "nope"), 403, "forbidden", "delete without token")
	a.expect(a.do("DELETE", "/api/v1/admin/requests/"+id, "", "X-CSRF-Token", csrf), 200, "delete")
	a.expectProblem(a.do("DELETE", "/api/v1/admin/requests/"+id, "", "X-CSRF-Token", csrf), 409, "conflict", "delete twice")
	if d := a.do("GET", "/api/v1/admin/requests?deleted=true", "").json(t); d["total"] != float64(1) {
		t.Fatalf("deleted list %v", d)
	}
	st := a.do("GET", "/api/v1/admin/stats", "").json(t)
	if st["deleted"] != float64(1) || st["approved"] != float64(1) || st["rejected"] != float64(1) {
		t.Fatalf("stats %v", st)
	}
	a.expect(a.do("POST", "/api/v1/admin/requests/"+id+"/restore", "", "X-CSRF-Token", csrf), 200, "restore")
	det := a.do("GET", "/api/v1/admin/requests/"+id, "")
	a.expect(det, 200, "detail")
	events := det.json(t)["events"].([]any)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	if strings.Join(actions, ",") != "decide,status_change,delete,restore" {
		t.Fatalf("audit trail %v", actions)
	}
	first := events[1].(map[string]any)
	if first["actor"] != "admin@example.com" || first["comment"] != "ingresos no verificados" ||
		first["before"].(map[string]any)["status"] != "approved" || first["after"].(map[string]any)["status"] != "rejected" {
		t.Fatalf("status event %v", first)
	}
	a.expectProblem(a.do("GET", "/api/v1/admin/requests/999999", ""), 404, "not_found", "missing id")
	a.expectProblem(a.do("GET", "/api/v1/admin/requests/abc", ""), 404, "not_found", "bad id")
	// Who saw what: each page of the list and each request shown, with the
	// search's kind, never its text; what was not found was not seen.
	a.expect(a.do("GET", "/api/v1/admin/requests?q=30.123.950", ""), 200, "a search by DNI")
	out, err := adminCommand(vars, "", "events", "--limit", "3", "admin@example.com")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 4 || !slices.Equal(eventKinds(out), []string{"requests_listed", "request_viewed", "request_restored"}) ||
		strings.Fields(lines[1])[6] != "dni" || strings.Fields(lines[2])[5] != id || strings.Fields(lines[3])[5] != id {
		t.Fatalf("admin events = %q, %v; want the DNI search, the request %s shown, and restored before", out, err, id)
	}
	if strings.Contains(out, "30123950") || strings.Contains(out, "123.950") {
		t.Fatalf("the log names the DNI searched: %q", out)
	}
	// The same log in the desk: filtered by request, by admin, by day, in
	// cursor pages.
	byRequest := a.do("GET", "/api/v1/admin/audit?request="+id, "")
	a.expect(byRequest, 200, "audit by request")
	var kinds []string
	for _, e := range byRequest.json(t)["items"].([]any) {
		if e.(map[string]any)["admin_email"] != "admin@example.com" {
			t.Fatalf("audit of request %s: %v names no admin", id, e)
		}
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	if want := []string{"request_viewed", "request_restored", "request_deleted", "request_status_changed"}; !slices.Equal(kinds, want) {
		t.Fatalf("audit of request %s: %q, want %q (its changes and who saw it)", id, kinds, want)
	}
	page1 := a.do("GET", "/api/v1/admin/audit?admin=admin@example.com&day="+today+"&limit=2", "").json(t)
	cursor, _ := page1["next_cursor"].(string)
	if items := page1["items"].([]any); len(items) != 2 || items[0].(map[string]any)["detail"] != "dni" || cursor == "" {
		t.Fatalf("audit's first page: %v", page1)
	}
	page2 := a.do("GET", "/api/v1/admin/audit?admin=admin@example.com&limit=2&cursor="+url.QueryEscape(cursor), "").json(t)
	if items := page2["items"].([]any); len(items) != 2 || items[0].(map[string]any)["id"].(float64) >= page1["items"].([]any)[1].(map[string]any)["id"].(float64) {
		t.Fatalf("audit's second page: %v", page2)
	}
	p := a.expectProblem(a.do("GET", "/api/v1/admin/audit?admin=nadie@example.com&day=ayer", ""), 400, "invalid", "audit with bad filters")
	if errs, _ := p["errors"].(map[string]any); errs["admin"] == nil || errs["day"] == nil {
		t.Fatalf("audit's bad filters: %v", p)
	}
	a.expect(a.do("DELETE", "/api/v1/admin/session", "", "X-CSRF-Token", csrf), 204, "logout")
	a.expectProblem(a.do("GET", "/api/v1/admin/session", ""), 401, "unauthorized", "after logout")
}

// An applicant's data is erased at their request from the desk: confirmed
// by their document number, from every request they filed, once.
func TestAnApplicantIsErasedFromEveryRequest(t *testing.T) {
	a := startApp(t, nil)
	for i, key := range []string{"erase-flow-1", "erase-flow-2"} {
		a.expect(a.do("POST", "/api/v1/requests", application("30123950", fmt.Sprintf("Persona Borrable %d", i)), "Idempotency-Key", key), 201, "submit")
	}
	a.expect(a.do("POST", "/api/v1/requests", application("30123120", "Persona Intacta"), "Idempotency-Key", "erase-flow-3"), 201, "submit")
	csrf := a.login()
	items := a.do("GET", "/api/v1/admin/requests?q=borrable", "").json(t)["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("search: %v", items)
	}
	id := fmt.Sprint(int64(items[0].(map[string]any)["id"].(float64)))
	path := "/api/v1/admin/requests/" + id + "/erase"
	a.expectProblem(a.do("POST", path, `{"document_number":"30123950"}`), 403, "forbidden", "no CSRF token")
	p := a.expectProblem(a.do("POST", path, `{"document_number":"30.123.120"}`, "X-CSRF-Token", csrf), 400, "invalid", "another applicant's number")
	if errs, _ := p["errors"].(map[string]any); errs["document_number"] == nil {
		t.Fatalf("the problem does not name document_number: %v", p)
	}
	r := a.do("POST", path, `{"document_number":"30.123.950"}`, "X-CSRF-Token", csrf)
	a.expect(r, 200, "erase")
	done := r.json(t)
	req := done["request"].(map[string]any)
	if done["erased"] != float64(2) || req["erased_at"] == nil || req["full_name"] != "" || req["email"] != "" || req["document_number"] != "" {
		t.Fatalf("erase answered %v", done)
	}
	a.expectProblem(a.do("POST", path, `{"document_number":"30123950"}`, "X-CSRF-Token", csrf), 409, "conflict", "erase twice")
	if left := a.do("GET", "/api/v1/admin/requests?q=borrable", "").json(t)["items"].([]any); len(left) != 0 {
		t.Fatalf("the erased applicant is still found: %v", left)
	}
	if kept := a.do("GET", "/api/v1/admin/requests?q=intacta", "").json(t)["items"].([]any); len(kept) != 1 {
		t.Fatalf("the other applicant: %v", kept)
	}
	if ev := a.do("GET", "/api/v1/admin/audit?request="+id, "").json(t)["items"].([]any); ev[0].(map[string]any)["kind"] != "applicant_erased" {
		t.Fatalf("the audit of request %s: %v", id, ev)
	}
	det := a.do("GET", "/api/v1/admin/requests/"+id, "")
	a.expect(det, 200, "detail of the erased request")
	if events := det.json(t)["events"].([]any); events[len(events)-1].(map[string]any)["action"] != "erase" {
		t.Fatalf("the request's trail: %v", events)
	}
}

// trustUs makes the test client the proxy whose X-Real-IP the api believes.
var trustUs = map[string]string{"CLIENT_IP_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "127.0.0.1"}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	a := startApp(t, trustUs)
	from := func(ip string) []string { return []string{"X-Real-IP", ip} }
	for range 5 {
		a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"guess"}`, from("203.0.113.9")...), 401, "unauthorized", "guess")
	}
	r := a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"s3cret-pass-word"}`, from("203.0.113.9")...)
	a.expectProblem(r, 429, "rate_limited", "guessing address, right password")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// The guesses locked out their address, not the admin.
	a.expect(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"s3cret-pass-word"}`, from("198.51.100.4")...), 200, "admin from elsewhere")
}

// Only a trusted proxy names the client: anyone else who sends X-Real-IP
// is counted by their own address, whatever they write in it.
func TestAForgedClientAddressIsIgnored(t *testing.T) {
	a := startApp(t, map[string]string{"CLIENT_IP_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "192.0.2.1, web.invalid"})
	for i := range 5 {
		a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"guess"}`,
			"X-Real-IP", fmt.Sprintf("203.0.113.%d", i)), 401, "unauthorized", "guess")
	}
	a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"guess"}`,
		"X-Real-IP", "198.51.100.200"), 429, "rate_limited", "a sixth guess under yet another forged address")
}

func TestAFloodOfWrongLoginsIsCountedBeforeHashing(t *testing.T) {
	// The flood fits MAX_IN_FLIGHT (past it, 503 at once): this is about
	// the login budget.
	a := startApp(t, map[string]string{"CLIENT_IP_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "127.0.0.1",
		"MAX_IN_FLIGHT": "400", "MAX_IN_FLIGHT_PER_CLIENT": "400"})
	const n = 200
	count := a.guessesAtOnce(n, func(int) string { return "203.0.113.66" })
	// The budget of 5 passed the limits (each then checked, 401, or told
	// to retry because both hash slots were busy, 503); the rest were
	// refused before hashing, so the flood cost 5 hashes, not 200. When
	// the limiter's Valkey was too slow to answer (a busy machine), this
	// process decided alone: at most one more each time (limiter.Fallback).
	budget := 5 + a.fallbacks()
	if got := count[401] + count[503]; got < 5 || got > budget || count[429] != n-got {
		t.Fatalf("statuses %v, want 5 (to %d) × 401 or 503 and the rest 429", count, budget)
	}
	a.expect(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"s3cret-pass-word"}`, "X-Real-IP", "198.51.100.4"), 200, "admin during the flood")
}

// 200 addresses guess at one account at once: only the account's budget
// for unknown devices reaches a password check, whatever the number of
// addresses, and each refusal is counted in the metrics; the admin's own
// browser still gets in, from an address it never used.
func TestGuessesAtOneAccountFromEverywhereAreCapped(t *testing.T) {
	vars := baseVars(t)
	for k, v := range map[string]string{"CLIENT_IP_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "127.0.0.1",
		"MAX_IN_FLIGHT": "400", "MAX_IN_FLIGHT_PER_CLIENT": "400"} {
		vars[k] = v
	}
	a := startApp(t, vars)
	right := `{"email":"admin@example.com","password":"s3cret-pass-word"}`
	r := a.do("POST", "/api/v1/admin/session", right, "X-Real-IP", "198.51.100.4")
	a.expect(r, 200, "the admin, once, in their browser")
	device := ""
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "loandesk_device=") {
			device = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/api/v1/admin/session", "Max-Age="} {
		if !strings.Contains(device, want) {
			t.Fatalf("device cookie %q lacks %s", device, want)
		}
	}
	began := time.Now()
	const n = 200
	count := a.guessesAtOnce(n, func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/250, i%250) })
	// The budget: 20 at once (one spent by the admin's first login), one
	// more every 45 s that the burst took, and one per decision this
	// process took alone because the limiter's Valkey was too slow
	// (limiter.Fallback; a busy machine); 503s (no free hash slot) spent
	// theirs too.
	limit := domain.DefaultLoginLimits.PerAccount
	bound := func() int {
		return limit.Burst + int(time.Since(began)/(limit.Per/time.Duration(limit.Events))) + a.fallbacks()
	}
	checked := count[401] + count[503]
	t.Logf("measured: %d guesses at one account from %d addresses at once; %d checked, %d refused (429); the cap lets through at most %d at once and %d an hour after",
		n, n, checked, count[429], limit.Burst, limit.Events)
	if checked+1 > bound() || checked == 0 || count[429] != n-checked {
		t.Fatalf("statuses %v from %d addresses, want at most %d checked (401/503) and the rest 429", count, n, bound()-1)
	}
	metrics := string(a.doUnlisted("GET", "/metrics", "").body)
	if want := fmt.Sprintf(`loandesk_login_refused_total{limit="account"} %d`, count[429]); !strings.Contains(metrics, want) {
		t.Fatalf("metrics lack %q", want)
	}
	// The right password from browsers the account does not know: let in
	// only while the budget lasts, then 429 like the guesses.
	freshLogin := func(addr string) int {
		req, _ := http.NewRequest("POST", a.base+"/api/v1/admin/session", strings.NewReader(right))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Real-IP", addr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	allowed := 1 + checked
	for i := 0; ; i++ {
		status := freshLogin(fmt.Sprintf("192.0.2.%d", 100+i))
		if status == 429 {
			break
		}
		if allowed++; allowed > bound() {
			t.Fatalf("%d logins from unknown browsers passed the account's limit, want at most %d", allowed, bound())
		}
	}
	// An operator unlocks the account: a browser it does not know gets in
	// again (once this process asks Valkey again, if it was deciding alone).
	if out, err := adminCommand(vars, "", "unlock", "Admin@Example.com"); err != nil || out != "admin@example.com unlocked\n" {
		t.Fatalf("admin unlock = %q, %v", out, err)
	}
	for i := 0; ; i++ {
		status := freshLogin(fmt.Sprintf("192.0.2.%d", 200+i))
		if status == 200 {
			break
		}
		if status != 429 || i == 40 || a.fallbacks() == 0 {
			t.Fatalf("a new browser after the unlock: %d (try %d, %d decisions in-process)", status, i+1, a.fallbacks())
		}
		time.Sleep(100 * time.Millisecond) // the in-process limiter's breaker asks Valkey again after 2 s
	}
	if out, _ := adminCommand(vars, "", "events", "--limit", "2", "admin@example.com"); !strings.Contains(out, "account_unlocked") {
		t.Fatalf("the unlock is not in the security log: %q", out)
	}
	// ...while the admin's own browser (its cookie jar) gets in.
	a.expect(a.do("POST", "/api/v1/admin/session", right, "X-Real-IP", "192.0.2.50"), 200, "the admin's browser from a new address")
}

// guessesAtOnce sends n wrong passwords for admin@example.com at once, the
// i-th from the address from(i), and counts the answers' statuses; a 429
// must say when to retry.
func (a *app) guessesAtOnce(n int, from func(i int) string) map[int]int {
	t := a.t
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", a.base+"/api/v1/admin/session", strings.NewReader(`{"email":"admin@example.com","password":"guess"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Real-IP", from(i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			statuses <- resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	return count
}

// adminCommand runs `loandesk admin args…` with vars and stdin, as an
// operator does beside the api.
// eventKinds reads the EVENT column of `loandesk admin events`.
func eventKinds(out string) []string {
	var kinds []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		kinds = append(kinds, strings.Fields(l)[1])
	}
	return kinds
}

func adminCommand(vars map[string]string, stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"loandesk", "admin"}, args...), getenvOf(vars), strings.NewReader(stdin), &out, io.Discard)
	return out.String(), err
}

// fallbacks reads how many limit checks this process decided alone.
func (a *app) fallbacks() int {
	a.t.Helper()
	m := regexp.MustCompile(`(?m)^loandesk_limiter_fallback_total (\d+)`).FindSubmatch(a.doUnlisted("GET", "/metrics", "").body)
	if m == nil {
		a.t.Fatal("metrics lack loandesk_limiter_fallback_total")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// `loandesk admin`, as an operator runs it beside a running api: named
// accounts that log in, a disabled one whose open session ends at its next
// request, and errors that say what was wrong.
func TestOperatorsManageNamedAdmins(t *testing.T) {
	vars := baseVars(t)
	a := startApp(t, vars)
	admin := func(stdin string, args ...string) (string, error) { return adminCommand(vars, stdin, args...) }
	browser := func() *app {
		jar, _ := cookiejar.New(nil)
		b := *a
		b.client = &http.Client{Jar: jar, Timeout: 10 * time.Second}
		return &b
	}
	out, err := admin("", "add", " Rocio@Example.com ")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 || lines[0] != "added rocio@example.com; its password, shown this once:" {
		t.Fatalf("admin add = %q, %v", out, err)
	}
	rocio := browser()
	rocio.expect(rocio.do("POST", "/api/v1/admin/session", `{"email":"rocio@example.com","password":"`+lines[1]+`"}`), 200, "rocio's first login")
	rocio.expect(rocio.do("GET", "/api/v1/admin/requests", ""), 200, "rocio's desk")
	if out, err := admin("correct horse battery staple\n", "add", "--password-stdin", "juan@example.com"); err != nil || out != "added juan@example.com\n" {
		t.Fatalf("admin add --password-stdin = %q, %v", out, err)
	}
	juan := browser()
	juan.expect(juan.do("POST", "/api/v1/admin/session", `{"email":"juan@example.com","password":"correct horse battery staple"}`), 200, "juan's login")

	if out, err := admin("", "disable", "ROCIO@example.com"); err != nil || out != "rocio@example.com disabled\n" {
		t.Fatalf("admin disable = %q, %v", out, err)
	}
	rocio.expectProblem(rocio.do("GET", "/api/v1/admin/requests", ""), 401, "unauthorized", "rocio's open session, disabled")
	rocio.expectProblem(rocio.do("POST", "/api/v1/admin/session", `{"email":"rocio@example.com","password":"`+lines[1]+`"}`), 401, "unauthorized", "rocio's login, disabled")
	juan.expect(juan.do("GET", "/api/v1/admin/requests", ""), 200, "juan, not disabled")
	out, err = admin("", "list")
	if err != nil || !regexp.MustCompile(`(?m)^EMAIL +CREATED +TOTP +DISABLED\n(admin@example\.com +\S+ +- +-\n)(juan@example\.com +\S+ +- +-\n)rocio@example\.com +\S+ +- +20\d\d-\S+\n$`).MatchString(out) {
		t.Fatalf("admin list = %q, %v", out, err)
	}
	if _, err := admin("", "enable", "rocio@example.com"); err != nil {
		t.Fatal(err)
	}
	rocio.expect(rocio.do("POST", "/api/v1/admin/session", `{"email":"rocio@example.com","password":"`+lines[1]+`"}`), 200, "rocio, enabled again")
	rocio.expectProblem(rocio.do("POST", "/api/v1/admin/session", `{"email":"nadie@example.com","password":"guess"}`), 401, "unauthorized", "an email that is no account's")

	// The security log: rocio's story, newest first; all of it with a
	// pseudonym for the unknown email; never an email or address in clear
	// but the accounts' own.
	out, err = admin("", "events", "rocio@example.com")
	story := eventKinds(out)
	if want := []string{"login_ok", "admin_enabled", "login_disabled", "admin_disabled", "requests_listed", "login_ok", "admin_added"}; err != nil || !slices.Equal(story, want) {
		t.Fatalf("admin events rocio = %q, %v; want %q", out, err, want)
	}
	out, err = admin("", "events", "--limit", "1")
	if f := strings.Fields(strings.Split(out, "\n")[1]); err != nil || len(f) != 7 || f[1] != "login_failed" || f[2] != "-" || len(f[3]) != 22 || len(f[4]) != 22 || f[5] != "-" {
		t.Fatalf("admin events --limit 1 = %q, %v; want the unknown email's failure under pseudonyms", out, err)
	}
	if out, _ := admin("", "events", "--limit", "1000"); strings.Contains(out, "nadie") || strings.Contains(out, "127.0.0.1") {
		t.Fatalf("the security log names an email or an address: %q", out)
	}

	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"add", "rocio@example.com"}, "an admin with this email already exists"},
		{"", []string{"disable", "nobody@example.com"}, "admin not found"},
		{"", []string{"add", "Rocío <rocio@example.com>"}, "not an email address"},
		{"short\n", []string{"add", "--password-stdin", "ana@example.com"}, "12 to 1024 characters"},
		{"", []string{"add", "--password-stdin", "ana@example.com"}, "stdin's first line is empty"},
		{"", []string{"remove", "rocio@example.com"}, "usage: loandesk admin"},
		{"", []string{"list", "extra"}, "usage: loandesk admin"},
		{"", []string{"events", "--limit", "0"}, "usage: loandesk admin"},
		{"", []string{"events", "a@example.com", "b@example.com"}, "usage: loandesk admin"},
		{"", []string{"events", "nobody@example.com"}, "admin not found"},
		{"", nil, "usage: loandesk admin"},
	} {
		if out, err := admin(c.stdin, c.args...); err == nil || !strings.Contains(err.Error(), c.want) || out != "" {
			t.Errorf("admin %q: %q, %v; want an error saying %q", c.args, out, err, c.want)
		}
	}
	if out, _ := admin("", "list"); strings.Contains(out, "ana@") {
		t.Fatal("a refused add stored an account")
	}
}

// An admin changes their password in the desk: the current one is checked,
// every other session of the account ends at once, this browser goes on
// under a new session, and the log says so.
// TOTP where it is required (production's default): the password opens
// only the enrolment, the app's first code turns it on and hands out ten
// recovery codes; the next login asks for a code; a recovery code works
// once; an operator's reset-mfa ends it all, and the admin enrols again.
func TestTOTPOverHTTPWhereItIsRequired(t *testing.T) {
	vars := baseVars(t)
	vars["MFA_REQUIRED"] = "true"
	a := startApp(t, vars)
	if _, err := adminCommand(vars, "first-password-long\n", "add", "--password-stdin", "eva@example.com"); err != nil {
		t.Fatal(err)
	}
	// A browser: a new one, or (jar) one that finished a login before.
	browser := func(stage string, jar ...http.CookieJar) (*app, string) {
		b := *a
		b.client = &http.Client{Timeout: 10 * time.Second}
		if b.client.Jar, _ = cookiejar.New(nil); len(jar) > 0 {
			b.client.Jar = jar[0]
		}
		r := b.do("POST", "/api/v1/admin/session", `{"email":"eva@example.com","password":"first-password-long"}`)
		b.expect(r, 200, "eva's password")
		if got := r.json(t)["mfa"]; got != stage {
			t.Fatalf("after the password: mfa %v, want %s", got, stage)
		}
		if strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "loandesk_device") {
			t.Fatal("a device cookie before the second step")
		}
		b.expectProblem(b.do("GET", "/api/v1/admin/requests", ""), 401, "unauthorized", "the desk before the second step")
		return &b, r.json(t)["csrf_token"].(string)
	}
	enrol := func() (secret string, codes []any) {
		b, csrf := browser("enrol")
		r := b.do("POST", "/api/v1/admin/mfa/enrolment", "", "X-CSRF-Token", csrf)
		b.expect(r, 200, "the enrolment")
		e := r.json(t)
		secret = e["secret"].(string)
		if !strings.HasPrefix(e["qr_code"].(string), "data:image/png;base64,") {
			t.Fatalf("enrolment %v", e)
		}
		c, _ := totp.GenerateCode(secret, time.Now())
		r = b.do("POST", "/api/v1/admin/mfa/enrolment/confirm", `{"code":"`+c+`"}`, "X-CSRF-Token", csrf)
		b.expect(r, 200, "the confirmation")
		v := r.json(t)
		if v["mfa"] != "done" || v["mfa_enrolled"] != true || len(v["recovery_codes"].([]any)) != 10 {
			t.Fatalf("confirmed: %v", v)
		}
		b.expect(b.do("GET", "/api/v1/admin/requests", ""), 200, "the desk after the enrolment")
		return secret, v["recovery_codes"].([]any)
	}
	secret, codes := enrol()
	b, csrf := browser("verify")
	b.expectProblem(b.do("POST", "/api/v1/admin/mfa/verify", `{"code":"000000"}`, "X-CSRF-Token", csrf), 400, "invalid", "a wrong code")
	// A code is good once: the enrolment's step is spent, so the next
	// step's code (within the one step of skew) logs in.
	c, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	r := b.do("POST", "/api/v1/admin/mfa/verify", `{"code":"`+c+`"}`, "X-CSRF-Token", csrf)
	b.expect(r, 200, "the next step's code")
	if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "loandesk_device") {
		t.Fatal("no device cookie after a whole login")
	}
	b.expect(b.do("GET", "/api/v1/admin/requests", ""), 200, "the desk after the code")
	// Wrong codes from new browsers spend the account's 5 tries in 15
	// minutes; this browser has its own now.
	known := b.client.Jar
	replay, csrfR := browser("verify", known)
	replay.expectProblem(replay.do("POST", "/api/v1/admin/mfa/verify", `{"code":"`+c+`"}`, "X-CSRF-Token", csrfR), 400, "invalid", "a code used once, again")
	r1, csrf1 := browser("verify", known)
	r = r1.do("POST", "/api/v1/admin/mfa/verify", `{"code":"`+strings.ToUpper(codes[0].(string))+`"}`, "X-CSRF-Token", csrf1)
	r1.expect(r, 200, "a recovery code")
	if left := r.json(t)["recovery_codes_left"]; left != 9.0 {
		t.Fatalf("recovery codes left: %v", left)
	}
	r2, csrf2 := browser("verify", known)
	r2.expectProblem(r2.do("POST", "/api/v1/admin/mfa/verify", `{"code":"`+codes[0].(string)+`"}`, "X-CSRF-Token", csrf2), 400, "invalid", "a recovery code again")

	if _, err := adminCommand(vars, "", "reset-mfa", "eva@example.com"); err != nil {
		t.Fatal(err)
	}
	r1.expectProblem(r1.do("GET", "/api/v1/admin/requests", ""), 401, "unauthorized", "a session from before the reset")
	enrol()
	out, err := adminCommand(vars, "", "events", "--limit", "20", "eva@example.com")
	story := eventKinds(out)
	for _, k := range []string{"mfa_asked", "mfa_enrolled", "mfa_failed", "mfa_recovery_used", "mfa_reset", "login_ok"} {
		if err != nil || !slices.Contains(story, k) {
			t.Fatalf("admin events eva = %q %v; want %s in it", out, err, k)
		}
	}
	if list, _ := adminCommand(vars, "", "list"); !strings.Contains(list, "TOTP") {
		t.Fatalf("admin list = %q", list)
	}
}

func TestAnAdminsNewPasswordEndsTheirOtherSessions(t *testing.T) {
	vars := baseVars(t)
	a := startApp(t, vars)
	if _, err := adminCommand(vars, "first-password-long\n", "add", "--password-stdin", "juan@example.com"); err != nil {
		t.Fatal(err)
	}
	browser := func(password string) (*app, string) {
		jar, _ := cookiejar.New(nil)
		b := *a
		b.client = &http.Client{Jar: jar, Timeout: 10 * time.Second}
		r := b.do("POST", "/api/v1/admin/session", `{"email":"juan@example.com","password":"`+password+`"}`)
		b.expect(r, 200, "juan's login")
		return &b, r.json(t)["csrf_token"].(string)
	}
	desk, csrf := browser("first-password-long")
	phone, _ := browser("first-password-long")
	change := func(body string) reply { return desk.do("POST", "/api/v1/admin/password", body, "X-CSRF-Token", csrf) }

	desk.expectProblem(desk.do("POST", "/api/v1/admin/password", `{"current_password":"first-password-long","new_password":"second-password-long"}`),
		403, "forbidden", "no CSRF token")
	for _, c := range []struct{ body, field string }{
		{`{"current_password":"a-wrong-password","new_password":"second-password-long"}`, "current_password"},
		{`{"current_password":"first-password-long","new_password":"short"}`, "new_password"},
		{`{"current_password":"first-password-long","new_password":"first-password-long"}`, "new_password"},
	} {
		p := desk.expectProblem(change(c.body), 400, "invalid", c.body)
		if errs, _ := p["errors"].(map[string]any); errs[c.field] == nil {
			t.Fatalf("%s: problem %v does not name %s", c.body, p, c.field)
		}
	}
	phone.expect(phone.do("GET", "/api/v1/admin/requests", ""), 200, "the phone, before the change")
	r := change(`{"current_password":"first-password-long","new_password":"second-password-long"}`)
	desk.expect(r, 200, "the change")
	newCSRF := r.json(t)["csrf_token"].(string)
	if newCSRF == csrf || !strings.Contains(r.header.Get("Set-Cookie"), "HttpOnly") {
		t.Fatalf("the change's answer %s, cookie %q: want a new session", r.body, r.header.Get("Set-Cookie"))
	}
	phone.expectProblem(phone.do("GET", "/api/v1/admin/requests", ""), 401, "unauthorized", "the phone, after the change")
	desk.expect(desk.do("GET", "/api/v1/admin/requests", ""), 200, "the desk, under its new session")
	desk.expectProblem(desk.do("DELETE", "/api/v1/admin/session", "", "X-CSRF-Token", csrf), 403, "forbidden", "the old CSRF token")
	a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"juan@example.com","password":"first-password-long"}`), 401, "unauthorized", "the old password")
	browser("second-password-long")

	out, err := adminCommand(vars, "", "events", "--limit", "6", "juan@example.com")
	story := eventKinds(out)
	if want := []string{"login_ok", "login_failed", "requests_listed", "password_changed", "requests_listed", "password_change_failed"}; err != nil || !slices.Equal(story, want) {
		t.Fatalf("admin events juan = %q, %v; want %q", out, err, want)
	}

	// An operator ends someone's sessions by disabling the account: enabled
	// again at once, before any of them made a request, none comes back.
	again, _ := browser("second-password-long")
	for _, cmd := range []string{"disable", "enable"} {
		if _, err := adminCommand(vars, "", cmd, "juan@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	again.expectProblem(again.do("GET", "/api/v1/admin/requests", ""), 401, "unauthorized", "a session from before a disable, after the enable")
	browser("second-password-long")
}

func TestADatabaseOutageIsA503ToRetry(t *testing.T) {
	vars := baseVars(t)
	pg := testenv.NewProxy(t, testenv.HostPort(t, vars["DATABASE_URL"]))
	vk := testenv.NewProxy(t, testenv.HostPort(t, vars["VALKEY_URL"]))
	a := startApp(t, map[string]string{"DATABASE_URL": testenv.ThroughProxy(t, vars["DATABASE_URL"], pg),
		"VALKEY_URL": testenv.ThroughProxy(t, vars["VALKEY_URL"], vk)})
	a.expect(a.do("POST", "/api/v1/requests", application("30123950", "Ana Antes"), "Idempotency-Key", "outage-before"), 201, "before")

	vk.Cut() // Valkey dies: filing goes on (limits hold in-process), logins wait
	a.expect(a.do("POST", "/api/v1/requests", application("30123950", "Ana Sin Valkey"), "Idempotency-Key", "outage-valkey"), 201, "without Valkey")
	r := a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"s3cret-pass-word"}`)
	a.expectProblem(r, 503, "unavailable", "login without Valkey")

	pg.Cut() // PostgreSQL dies too
	for _, r := range []reply{
		a.do("POST", "/api/v1/requests", application("30123950", "Ana Durante"), "Idempotency-Key", "outage-during"),
		a.do("GET", "/api/v1/requests/LD-0000000000", ""),
	} {
		a.expectProblem(r, 503, "unavailable", "with PostgreSQL down")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	}
	a.expect(a.do("GET", "/readyz", ""), 503, "readyz")
	a.expect(a.do("GET", "/healthz", ""), 200, "healthz stays up: restarting the api would not help")
}

func TestWorkerDecidesWhatTheAPICouldNot(t *testing.T) {
	vars := baseVars(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	t.Cleanup(down.Close)
	a := startApp(t, map[string]string{"DATABASE_URL": vars["DATABASE_URL"], "SCORING_URL": down.URL})
	r := a.do("POST", "/api/v1/requests", application("30123950", "Ana En Cola"), "Idempotency-Key", "queued-key-1")
	a.expect(r, 201, "submit while scoring is down")
	rec := r.json(t)
	if rec["status"] != "in_review" {
		t.Fatalf("receipt %v, want in_review", rec)
	}
	code := rec["tracking_code"].(string)
	// The worker (with scoring back) finds the job saved with the request.
	base, stop := process(t, "worker", vars)
	deadline := time.Now().Add(15 * time.Second)
	for a.do("GET", "/api/v1/requests/"+code, "").json(t)["status"] != "approved" {
		if time.Now().After(deadline) {
			t.Fatal("the worker did not decide the queued request within 15 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("worker /healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	// The depth is read once the queue runs, beside the first job: wait for
	// the series (a state), not for a moment.
	wants := []string{`loandesk_decisions_total{source="worker",status="approved"} 1`, `loandesk_queue_depth{state="ready"}`}
	for missing := wants; len(missing) > 0; {
		resp, err = http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = nil
		for _, want := range wants {
			if !bytes.Contains(m, []byte(want)) {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 && time.Now().After(deadline) {
			t.Fatalf("worker metrics lack %v", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// With the limits' Valkey gone — or full — every limit still holds, counted
// in this process from what was already spent.
func TestLimitsHoldWithoutValkey(t *testing.T) {
	vars := baseVars(t)
	vk := testenv.NewProxy(t, testenv.HostPort(t, vars["VALKEY_URL"]))
	a := startApp(t, map[string]string{"SUBMIT_RATE_LIMIT": "3", "LIMITS_VALKEY_URL": testenv.ThroughProxy(t, vars["VALKEY_URL"], vk)})
	file := func(i int) reply {
		return a.do("POST", "/api/v1/requests", application("30123950", "Ana Limite"), "Idempotency-Key", fmt.Sprintf("no-valkey-%d", i))
	}
	a.expect(file(1), 201, "first filing, Valkey up")
	a.expect(file(2), 201, "second filing, Valkey up")
	vk.Cut()
	a.expect(file(3), 201, "third filing, Valkey gone: within the budget")
	a.expectProblem(file(4), 429, "rate_limited", "fourth filing, Valkey gone: past the budget")
	for range 4 {
		a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"guess"}`), 401, "unauthorized", "guess")
	}
	a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"guess"}`), 401, "unauthorized", "fifth guess")
	a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"guess"}`), 429, "rate_limited", "sixth guess")
	m := a.doUnlisted("GET", "/metrics", "")
	if !regexp.MustCompile(`loandesk_limiter_fallback_total [1-9]`).Match(m.body) {
		t.Fatal("no fallback counted in the metrics")
	}
}

// Each admin's reads of applicants' data are bounded, and so is what they
// add to the security log: 200 reads at once pass at most the burst, and
// 200 more with the limits' Valkey gone pass nothing the first did not
// leave (each replica counts alone then, and never fails open).
func TestAnAdminsReadsAndWhatTheyLogAreBounded(t *testing.T) {
	vars := baseVars(t)
	vk := testenv.NewProxy(t, testenv.HostPort(t, vars["VALKEY_URL"]))
	vars["ADMIN_READS_PER_MINUTE"], vars["LIMITS_VALKEY_URL"] = "5", testenv.ThroughProxy(t, vars["VALKEY_URL"], vk)
	a := startApp(t, vars)
	a.login()
	readsAtOnce := func(n int) (ok int) {
		var wg sync.WaitGroup
		var passed atomic.Int32
		for range n {
			wg.Go(func() {
				switch r := a.do("GET", "/api/v1/admin/requests", ""); r.status {
				case 200:
					passed.Add(1)
				case 429:
				default:
					t.Errorf("a read: %d %s", r.status, r.body)
				}
			})
		}
		wg.Wait()
		return int(passed.Load())
	}
	start := time.Now()
	up := readsAtOnce(200)
	vk.Cut()
	down := readsAtOnce(200)
	// A GCRA lets through its burst and then the rate: whatever the time
	// the bursts took, no more than that (this replica's Local was spent
	// along with Valkey, so the cut hands out no fresh budget).
	bound := 10 + int(time.Since(start).Minutes()*5) + 1
	if up < 1 || up+down > bound {
		t.Fatalf("200 reads at once passed %d (Valkey up) and %d more (gone); want at most %d (10 at once, 5 a minute)", up, down, bound)
	}
	out, err := adminCommand(vars, "", "events", "--limit", "1000", "admin@example.com")
	listed := 0
	for _, k := range eventKinds(out) {
		if k == domain.EventRequestsListed {
			listed++
		}
	}
	if err != nil || listed != up+down {
		t.Fatalf("%d reads in the security log, %d passed (%v)", listed, up+down, err)
	}
}

func TestSubmissionsAreRateLimited(t *testing.T) {
	a := startApp(t, map[string]string{"SUBMIT_RATE_LIMIT": "2"})
	for i := range 2 {
		a.expect(a.do("POST", "/api/v1/requests", application("30123950", "Ana Limite"), "Idempotency-Key", fmt.Sprintf("rate-limit-%d", i)), 201, "submit")
	}
	a.expectProblem(a.do("POST", "/api/v1/requests", application("30123950", "Ana Limite"), "Idempotency-Key", "rate-limit-3"), 429, "rate_limited", "third submit")
}

func TestOperationsEndpointsAndGracefulStop(t *testing.T) {
	a := startApp(t, nil)
	a.expect(a.do("GET", "/healthz", ""), 200, "healthz")
	a.expect(a.do("GET", "/readyz", ""), 200, "readyz")
	spec := a.do("GET", "/api/openapi.yaml", "")
	if !bytes.Equal(spec.body, api.OpenAPI) {
		t.Fatal("served spec differs from api/openapi.yaml")
	}
	a.do("POST", "/api/v1/requests", application("30123950", "Ana Metricas"), "Idempotency-Key", "metrics-key-1")
	resp, err := http.Get(a.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`loandesk_http_requests_total{method="POST",route="POST /api/v1/requests",status="201"} 1`,
		`loandesk_http_request_duration_seconds_bucket{method="POST",route="POST /api/v1/requests"`,
		`loandesk_external_calls_total{outcome="ok",service="scoring"} 1`,
		`loandesk_circuit_breaker_state{service="identity"} 0`,
		`loandesk_decisions_total{source="api",status="approved"} 1`,
	} {
		if !bytes.Contains(m, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	start := time.Now()
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("graceful stop took %v", d)
	}
}

func TestRoutesMatchTheSpec(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	d, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	model, err := d.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	doc.Paths = map[string]map[string]any{}
	for pair := model.Model.Paths.PathItems.First(); pair != nil; pair = pair.Next() {
		ops := map[string]any{}
		for op := pair.Value().GetOperations().First(); op != nil; op = op.Next() {
			ops[strings.ToUpper(op.Key())] = true
		}
		doc.Paths[pair.Key()] = ops
	}
	implemented := map[string]bool{}
	for _, r := range httpapi.Routes() {
		implemented[r.Method+" "+r.Path] = true
		if doc.Paths[r.Path][r.Method] == nil {
			t.Errorf("%s %s is implemented but not in api/openapi.yaml", r.Method, r.Path)
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !implemented[m+" "+path] {
				t.Errorf("%s %s is in api/openapi.yaml but not implemented", m, path)
			}
		}
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	base := map[string]string{
		"DATABASE_URL": "postgres://u:real-secret-password@db/x", "VALKEY_URL": "redis://v:6379", "SCORING_URL": "http://s:7001",
		"IDENTITY_URL": "http://i:7002", "SESSION_KEY": "k-0123456789abcdef0123456789abcdef", "ADMIN_EMAIL": "a@x.com", "ADMIN_PASSWORD": "long-enough-password",
	}
	with := func(k, v string) func(string) string {
		m := map[string]string{}
		for kk, vv := range base {
			m[kk] = vv
		}
		m[k] = v
		return getenvOf(m)
	}
	all := need{db: true, valkey: true, providers: true, admin: true}
	if _, err := loadConfig(getenvOf(base), all); err != nil {
		t.Fatalf("good production config refused: %v", err)
	}
	for _, tc := range []struct{ k, v, want string }{
		{"DATABASE_URL", "", "DATABASE_URL"},
		{"SCORING_URL", "scoring:7001", "SCORING_URL"},
		{"DECISION_TIMEOUT", "soon", "DECISION_TIMEOUT"},
		{"EXTERNAL_RETRIES", "-1", "EXTERNAL_RETRIES"},
		{"RETENTION_DAYS", "0", "RETENTION_DAYS"},
		{"SECURITY_LOG_DAYS", "364", "SECURITY_LOG_DAYS"},
		{"APP_ENV", "staging", "APP_ENV"},
		{"LOG_LEVEL", "loud", "LOG_LEVEL"},
		{"SESSION_KEY", "insecure-dev-session-key-change-me-0123456789abc", "SESSION_KEY"},
		{"SESSION_KEY", "short", "SESSION_KEY"},
		{"ADMIN_PASSWORD", "insecure-dev-admin-password", "ADMIN_PASSWORD"},
		{"ADMIN_PASSWORD", "", "ADMIN_PASSWORD"},
		{"DATABASE_URL", "postgres://u:insecure-dev-db-password@db/x", "DATABASE_PASSWORD"},
		{"DATABASE_URL", "postgres://u@db/x", "DATABASE_PASSWORD"},
		{"SESSION_KEY_FILE", "/nonexistent/secret", "SESSION_KEY"},
		{"DATABASE_AUTH", "kerberos", "DATABASE_AUTH"},
		{"DATABASE_AUTH", "iam", "AWS_REGION"},
		{"DATABASE_PASSWORD", "also-a-password", "DATABASE_PASSWORD"}, // with DATABASE_AUTH=iam: see extra
		{"CLIENT_IP_HEADER", "X-Real-IP", "TRUSTED_PROXIES"},
		{"TRUSTED_PROXIES", "web", "CLIENT_IP_HEADER"},
		{"TRUSTED_PROXIES", "web;evil", "TRUSTED_PROXIES"},
		{"VALKEY_URL", "valkey:6379", "VALKEY_URL"},
		{"LIMITS_VALKEY_URL", "http://limits:6379", "LIMITS_VALKEY_URL"},
		{"MAX_IN_FLIGHT", "0", "MAX_IN_FLIGHT"},
		{"MAX_IN_FLIGHT_PER_CLIENT", "1000", "MAX_IN_FLIGHT_PER_CLIENT"},
		{"DECISION_TIMEOUT", "10s", "DECISION_TIMEOUT"},
		{"DECISION_TIMEOUT", "5s", "DECISION_TIMEOUT"}, // 5 + the claim's 5 + the save's 5 leave no second of 15
		{"SLI_EMF_NAMESPACE", "AWS/ApplicationELB", "SLI_EMF_NAMESPACE"},
		{"SLI_EMF_NAMESPACE", "LoanDesk/{prod}", "SLI_EMF_NAMESPACE"},
	} {
		getenv := with(tc.k, tc.v)
		if tc.k == "DATABASE_PASSWORD" { // a password beside IAM authentication
			extra := map[string]string{"DATABASE_AUTH": "iam", "AWS_REGION": "sa-east-1"}
			getenv = func(k string) string {
				if v, ok := extra[k]; ok {
					return v
				}
				return with(tc.k, tc.v)(k)
			}
		}
		_, err := loadConfig(getenv, all)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: err = %v, want it to name %s", tc.k, tc.v, err, tc.want)
		}
	}
	// Development accepts the published defaults.
	dev := with("APP_ENV", "development")
	m := map[string]string{}
	for k := range base {
		m[k] = dev(k)
	}
	m["APP_ENV"], m["SESSION_KEY"], m["ADMIN_PASSWORD"] = "development", "insecure-dev-session-key-change-me-0123456789abc", "insecure-dev-admin-password"
	if _, err := loadConfig(getenvOf(m), all); err != nil {
		t.Fatalf("development defaults refused: %v", err)
	}
	// run reports configuration errors instead of starting.
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"loandesk", "serve"}, getenvOf(map[string]string{}), strings.NewReader(""), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "ADMIN_EMAIL") {
		t.Fatalf("run with no config: %v", err)
	}
	if err := run(context.Background(), []string{"loandesk", "bogus"}, getenvOf(nil), strings.NewReader(""), io.Discard, &stderr); err == nil {
		t.Fatal("unknown command accepted")
	}
	for _, u := range []string{"", "web:8081/stub_status", "https://web:8081/stub_status", "http://web/stub_status", "http://:8081/"} {
		err := run(context.Background(), []string{"loandesk", "nginx-exporter"}, getenvOf(map[string]string{"NGINX_STATUS_URL": u}), strings.NewReader(""), io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error(), "NGINX_STATUS_URL") {
			t.Errorf("nginx-exporter with NGINX_STATUS_URL=%q: %v", u, err)
		}
	}
	err = run(context.Background(), []string{"loandesk", "nginx-exporter"}, getenvOf(map[string]string{"NGINX_STATUS_URL": "http://web:8081/stub_status", "EXPORTER_LISTEN_ADDR": "nowhere"}), strings.NewReader(""), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "EXPORTER_LISTEN_ADDR") {
		t.Errorf("nginx-exporter with a bad listen address: %v", err)
	}
}

// migrate started before its database has a primary (a new cluster, a
// failover) waits for one, up to DATABASE_WAIT, instead of failing; a
// database that refuses the credentials is not waited for.
func TestMigrateWaitsForTheDatabase(t *testing.T) {
	vars := baseVars(t)
	// An address nothing listens on yet: the database's, as the job knows it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, err := url.Parse(vars["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = addr
	vars["DATABASE_URL"], vars["DATABASE_WAIT"] = u.String(), "1m"
	out := &lineWriter{lines: make(chan string, 1000)}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"loandesk", "migrate"}, getenvOf(vars), strings.NewReader(""), out, io.Discard)
	}()
	waitLine(t, out, "no writable database yet", done)
	testenv.NewProxyOn(t, addr, target) // the database comes up where the job looks
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("migrate failed once the database was there: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("migrate still waits 30 s after the database came up")
	}

	// Wrong credentials: an answer, not an outage; no wait.
	u, _ = url.Parse(testenv.DatabaseURL(t))
	u.User = url.UserPassword(u.User.Username(), "not-the-password")
	vars["DATABASE_URL"] = u.String()
	err = run(context.Background(), []string{"loandesk", "migrate"}, getenvOf(vars), strings.NewReader(""), out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "28P01") {
		t.Fatalf("migrate with a wrong password: %v, want the server's refusal (28P01)", err)
	}
}

// waitLine waits for a log line containing s, failing if the program ends first.
func waitLine(t *testing.T, out *lineWriter, s string, done <-chan error) {
	t.Helper()
	for {
		select {
		case line := <-out.lines:
			if strings.Contains(line, s) {
				return
			}
		case err := <-done:
			t.Fatalf("ended before logging %q: %v", s, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("no log line %q within 30 s", s)
		}
	}
}

// Valkey keeps admin sessions only: an api that starts while it is gone
// (rescheduled off the node that held it) listens and files at once, and
// admin logins answer 503 until it is back.
func TestTheAPIStartsWithoutValkey(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()
	a := startApp(t, map[string]string{"VALKEY_URL": "redis://" + gone + "/0"})
	a.expect(a.do("POST", "/api/v1/requests", application("30123950", "Ana Sin Sesiones"), "Idempotency-Key", "no-valkey-at-start"), 201, "filing")
	a.expectProblem(a.do("POST", "/api/v1/admin/session", `{"email":"admin@example.com","password":"s3cret-pass-word"}`), 503, "unavailable", "login without Valkey")
}
