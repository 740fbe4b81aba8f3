package alertsink_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/alertsink"
)

func post(t *testing.T, h http.Handler, body string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/alerts", strings.NewReader(body)))
	return rec.Code
}

func TestTheSinkCountsEachAlertsFirstFiringAndItsResolution(t *testing.T) {
	since := time.Now()
	s := alertsink.New(since)
	old := since.Add(-time.Hour).Format(time.RFC3339)
	now := since.Add(time.Second).Format(time.RFC3339)
	for _, b := range []string{
		`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"WorkerDown"},"startsAt":"` + now + `"}]}`,
		// A previous fault's, delivered late: not this one's.
		`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"BreakerOpen"},"startsAt":"` + old + `"}]}`,
		`{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"WorkerDown"},"startsAt":"` + now + `"}]}`,
	} {
		if code := post(t, s, b); code != 200 {
			t.Fatalf("post answered %d", code)
		}
	}
	if code := post(t, s, `{"version":"3"}`); code != 400 {
		t.Fatalf("a payload of another version answered %d", code)
	}
	if code := post(t, s, `not json`); code != 400 {
		t.Fatalf("junk answered %d", code)
	}
	secs, missing := s.Wait(context.Background(), []string{"WorkerDown"}, false, since, time.Second)
	if len(missing) != 0 || secs["WorkerDown"] < 0 {
		t.Fatalf("fired: %v, missing %v", secs, missing)
	}
	if _, missing := s.Wait(context.Background(), []string{"WorkerDown", "BreakerOpen"}, true, since, 10*time.Millisecond); len(missing) != 1 || missing[0] != "BreakerOpen" {
		t.Fatalf("resolved: missing %v, want BreakerOpen (it started before the fault)", missing)
	}
	if all, bad := s.Posts(); all != 5 || bad != 2 {
		t.Fatalf("posts %d, bad %d", all, bad)
	}
}
