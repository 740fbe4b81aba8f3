package domain_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

// storeMock is a LoanStore of function fields; a test sets the ones it
// expects to be called, and any other call fails the test.
type storeMock struct {
	t                  *testing.T
	createLoan         func(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error)
	claimFiling        func(ctx context.Context, key, fp string, ttl time.Duration) (domain.Claim, error)
	releaseFiling      func(ctx context.Context, key string) error
	loanByTrackingCode func(ctx context.Context, code string) (*domain.LoanRequest, error)
	loanByID           func(ctx context.Context, id int64) (*domain.LoanRequest, error)
	updateLoan         func(ctx context.Context, id int64, actor domain.Actor, fn domain.UpdateFunc) (*domain.LoanRequest, error)
	listLoans          func(ctx context.Context, f domain.Filter) (domain.Page, error)
	auditTrail         func(ctx context.Context, id int64) ([]domain.AuditEvent, error)
	stats              func(ctx context.Context) (domain.Stats, error)
	dailyCounts        func(ctx context.Context, from, to time.Time) ([]domain.DayCount, error)
	queueDepth         func(ctx context.Context) (domain.QueueDepth, error)
}

var _ domain.LoanStore = &storeMock{}

// need fails the test when a method the test did not set is called.
func (m *storeMock) need(unset bool, method string) {
	m.t.Helper()
	if unset {
		m.t.Fatalf("unexpected call to %s", method)
	}
}

func (m *storeMock) CreateLoan(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
	m.need(m.createLoan == nil, "CreateLoan")
	return m.createLoan(ctx, l)
}
func (m *storeMock) ClaimFiling(ctx context.Context, key, fp string, ttl time.Duration) (domain.Claim, error) {
	m.need(m.claimFiling == nil, "ClaimFiling")
	return m.claimFiling(ctx, key, fp, ttl)
}
func (m *storeMock) ReleaseFiling(ctx context.Context, key string) error {
	m.need(m.releaseFiling == nil, "ReleaseFiling")
	return m.releaseFiling(ctx, key)
}
func (m *storeMock) LoanByTrackingCode(ctx context.Context, code string) (*domain.LoanRequest, error) {
	m.need(m.loanByTrackingCode == nil, "LoanByTrackingCode")
	return m.loanByTrackingCode(ctx, code)
}
func (m *storeMock) LoanByID(ctx context.Context, id int64) (*domain.LoanRequest, error) {
	m.need(m.loanByID == nil, "LoanByID")
	return m.loanByID(ctx, id)
}
func (m *storeMock) UpdateLoan(ctx context.Context, id int64, actor domain.Actor, fn domain.UpdateFunc) (*domain.LoanRequest, error) {
	m.need(m.updateLoan == nil, "UpdateLoan")
	return m.updateLoan(ctx, id, actor, fn)
}
func (m *storeMock) ListLoans(ctx context.Context, f domain.Filter) (domain.Page, error) {
	m.need(m.listLoans == nil, "ListLoans")
	return m.listLoans(ctx, f)
}
func (m *storeMock) AuditTrail(ctx context.Context, id int64) ([]domain.AuditEvent, error) {
	m.need(m.auditTrail == nil, "AuditTrail")
	return m.auditTrail(ctx, id)
}
func (m *storeMock) Stats(ctx context.Context) (domain.Stats, error) {
	m.need(m.stats == nil, "Stats")
	return m.stats(ctx)
}
func (m *storeMock) DailyCounts(ctx context.Context, from, to time.Time) ([]domain.DayCount, error) {
	m.need(m.dailyCounts == nil, "DailyCounts")
	return m.dailyCounts(ctx, from, to)
}
func (m *storeMock) QueueDepth(ctx context.Context) (domain.QueueDepth, error) {
	m.need(m.queueDepth == nil, "QueueDepth")
	return m.queueDepth(ctx)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var fixedNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newDesk(store domain.LoanStore, id domain.IdentityChecker, sc domain.Scorer) (*domain.Desk, *[]string) {
	var decisions []string
	return &domain.Desk{Store: store, Identity: id, Scoring: sc, DecisionTimeout: time.Second, Log: quiet,
		Now:        func() time.Time { return fixedNow },
		OnDecision: func(source string, s domain.Status) { decisions = append(decisions, source+":"+string(s)) },
	}, &decisions
}

func goodApp() domain.Application {
	return domain.Application{FullName: "  Ana   María ", Email: "Ana@Example.com", DocumentNumber: "30.123.950", Gender: "f", Amount: 100000}
}

// won is a claim with nothing filed under the key yet: this call files.
func won(context.Context, string, string, time.Duration) (domain.Claim, error) {
	return domain.Claim{Won: true}, nil
}

// saved echoes the request given to CreateLoan, as a store that saved it.
func saved(got **domain.LoanRequest) func(context.Context, *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
	return func(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		c := *l
		c.ID = 42
		*got = &c
		return &c, false, nil
	}
}

var approve = scoreAnswer(domain.ScoreResult{Score: 800, Approved: true}, nil)

func TestSubmitDecidesBeforeSavingAndSavesOnce(t *testing.T) {
	var got *domain.LoanRequest
	store := &storeMock{t: t, claimFiling: won, createLoan: saved(&got)}
	d, decisions := newDesk(store, idAnswer(true, nil), approve)
	sub, err := d.Submit(context.Background(), "key-00000001", goodApp())
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Status != domain.StatusApproved || got.DecidedAt == nil || got.DecidedBy != "system" || *got.Score != 800 {
		t.Fatalf("saved %+v, want the approved request", got)
	}
	if got.FullName != "Ana María" || got.Email != "ana@example.com" || got.DocumentNumber != "30123950" || got.Gender != "F" {
		t.Fatalf("saved un-normalized fields: %+v", got.Application)
	}
	if got.IdempotencyKey != "key-00000001" || got.Fingerprint != got.Application.Fingerprint() || !domain.ValidTrackingCode(got.TrackingCode) {
		t.Fatalf("saved key/fingerprint/code %q %q %q", got.IdempotencyKey, got.Fingerprint, got.TrackingCode)
	}
	if sub.Replayed || sub.Receipt.Status != domain.StatusApproved || sub.Receipt.TrackingCode != got.TrackingCode {
		t.Fatalf("receipt %+v", sub)
	}
	if strings.Join(*decisions, ",") != "api:approved" {
		t.Fatalf("decisions reported %v", *decisions)
	}
}

func TestSubmitSavesUndecidedWhenProvidersDoNotAnswer(t *testing.T) {
	var got *domain.LoanRequest
	store := &storeMock{t: t, claimFiling: won, createLoan: saved(&got)}
	down := scoreAnswer(domain.ScoreResult{}, domain.Errorf(domain.EUNAVAILABLE, "scoring down"))
	d, decisions := newDesk(store, idAnswer(true, nil), down)
	sub, err := d.Submit(context.Background(), "key-00000002", goodApp())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Undecided() || sub.Receipt.Status != domain.StatusInReview || len(*decisions) != 0 {
		t.Fatalf("saved %+v, receipt %+v, decisions %v; want undecided (the store queues its job)", got, sub.Receipt, *decisions)
	}
}

func TestSubmitLeavesPermanentRefusalsToAPerson(t *testing.T) {
	var got *domain.LoanRequest
	store := &storeMock{t: t, claimFiling: won, createLoan: saved(&got)}
	refused := scoreAnswer(domain.ScoreResult{}, domain.Errorf(domain.EPERMANENT, "scoring refused (422)"))
	d, _ := newDesk(store, idAnswer(true, nil), refused)
	if _, err := d.Submit(context.Background(), "key-00000003", goodApp()); err != nil {
		t.Fatal(err)
	}
	if got.Status != domain.StatusInReview || got.Reason != domain.ReasonManual || got.Undecided() {
		t.Fatalf("saved %+v, want in review for a person (no job)", got)
	}
}

func TestSubmitSavesEvenWhenTheApplicantHangsUp(t *testing.T) {
	var got *domain.LoanRequest
	store := &storeMock{t: t, claimFiling: won, createLoan: saved(&got)}
	ctx, cancel := context.WithCancel(context.Background())
	slow := identityMock{func(ctx context.Context, _ domain.Application) (domain.IdentityVerdict, error) {
		cancel() // the applicant closes the tab while identity is asked
		<-ctx.Done()
		return domain.IdentityVerdict{}, ctx.Err()
	}}
	d, _ := newDesk(store, slow, approve)
	_, _ = d.Submit(ctx, "key-00000004", goodApp())
	if got == nil || !got.Undecided() {
		t.Fatalf("saved %+v, want the undecided request saved for the worker and the retry", got)
	}
}

func TestSubmitReplaysARepeatedKeyWithoutAskingTheProviders(t *testing.T) {
	a := goodApp()
	a.Normalize()
	prev := &domain.LoanRequest{ID: 7, TrackingCode: "LD-0000000007", Application: a, Status: domain.StatusApproved,
		Reason: domain.ReasonScore, Fingerprint: a.Fingerprint(), CreatedAt: fixedNow}
	store := &storeMock{t: t, claimFiling: func(_ context.Context, key, _ string, _ time.Duration) (domain.Claim, error) {
		if key != "key-00000005" {
			t.Fatalf("claimed %q", key)
		}
		return domain.Claim{Filed: prev}, nil
	}}
	never := identityMock{func(context.Context, domain.Application) (domain.IdentityVerdict, error) {
		t.Fatal("asked identity for a replay")
		return domain.IdentityVerdict{}, nil
	}}
	d, _ := newDesk(store, never, approve)
	sub, err := d.Submit(context.Background(), "key-00000005", goodApp())
	if err != nil || !sub.Replayed || sub.Receipt.TrackingCode != prev.TrackingCode {
		t.Fatalf("replay = %+v, %v", sub, err)
	}
	other := goodApp()
	other.Amount = 200000
	if _, err := d.Submit(context.Background(), "key-00000005", other); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("same key, other content: %v, want ECONFLICT", err)
	}
}

func TestSubmitLosesARaceForTheKeyToTheFirstAnswer(t *testing.T) {
	a := goodApp()
	a.Normalize()
	winner := &domain.LoanRequest{ID: 9, TrackingCode: "LD-0000000009", Application: a, Status: domain.StatusApproved, Fingerprint: a.Fingerprint()}
	store := &storeMock{t: t, claimFiling: won,
		createLoan: func(context.Context, *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
			return winner, true, nil
		}}
	d, decisions := newDesk(store, idAnswer(true, nil), approve)
	sub, err := d.Submit(context.Background(), "key-00000006", goodApp())
	if err != nil || !sub.Replayed || sub.Receipt.TrackingCode != winner.TrackingCode || len(*decisions) != 0 {
		t.Fatalf("lost race = %+v, %v, decisions %v; want the winner's answer", sub, err, *decisions)
	}
}

func TestSubmitRefusesBadInputBeforeAnyIO(t *testing.T) {
	d, _ := newDesk(&storeMock{t: t}, idAnswer(true, nil), approve)
	if _, err := d.Submit(context.Background(), "short", goodApp()); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("bad key: %v", err)
	}
	bad := goodApp()
	bad.Amount = -1
	e, _ := domain.AsError(func() error { _, err := d.Submit(context.Background(), "key-00000007", bad); return err }())
	if e == nil || e.Code != domain.EINVALID || e.Fields["amount"] == "" {
		t.Fatalf("bad amount: %+v", e)
	}
}

func TestSubmitPassesStoreOutagesOn(t *testing.T) {
	unavailable := domain.Errorf(domain.EUNAVAILABLE, "database down")
	store := &storeMock{t: t, claimFiling: func(context.Context, string, string, time.Duration) (domain.Claim, error) {
		return domain.Claim{}, unavailable
	}}
	d, _ := newDesk(store, idAnswer(true, nil), approve)
	if _, err := d.Submit(context.Background(), "key-00000008", goodApp()); !errors.Is(err, unavailable) {
		t.Fatalf("lookup outage: %v", err)
	}
	var released []string
	store = &storeMock{t: t, claimFiling: won,
		createLoan: func(context.Context, *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
			return nil, false, unavailable
		},
		releaseFiling: func(_ context.Context, key string) error { released = append(released, key); return nil }}
	d, decisions := newDesk(store, idAnswer(true, nil), approve)
	if _, err := d.Submit(context.Background(), "key-00000009", goodApp()); !errors.Is(err, unavailable) || len(*decisions) != 0 {
		t.Fatalf("save outage: %v, decisions %v", err, *decisions)
	}
	if len(released) != 1 || released[0] != "key-00000009" {
		t.Fatalf("released %v: a failed save must give its claim up for the retry", released)
	}
}

// queued is an undecided request as the worker loads it.
func queued() *domain.LoanRequest {
	a := goodApp()
	a.Normalize()
	return &domain.LoanRequest{ID: 5, TrackingCode: "LD-0000000005", Application: a, Status: domain.StatusInReview, CreatedAt: fixedNow}
}

// applying runs the update function on l as the store would.
func applying(t *testing.T, l *domain.LoanRequest, actions *[]string) func(context.Context, int64, domain.Actor, domain.UpdateFunc) (*domain.LoanRequest, error) {
	return func(ctx context.Context, id int64, actor domain.Actor, fn domain.UpdateFunc) (*domain.LoanRequest, error) {
		if id != l.ID {
			t.Fatalf("updated %d, want %d", id, l.ID)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		action, _, err := fn(l)
		if err != nil {
			return nil, err
		}
		*actions = append(*actions, actor.Name+":"+action)
		return l, nil
	}
}

func TestDecideQueued(t *testing.T) {
	down := scoreAnswer(domain.ScoreResult{}, domain.Errorf(domain.EUNAVAILABLE, "scoring down"))
	t.Run("decides an undecided request", func(t *testing.T) {
		l, actions := queued(), []string{}
		d, decisions := newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return l, nil },
			updateLoan: applying(t, l, &actions)}, idAnswer(true, nil), approve)
		if err := d.DecideQueued(context.Background(), 5, false); err != nil {
			t.Fatal(err)
		}
		if l.Status != domain.StatusApproved || strings.Join(actions, ",") != "system:decide" || strings.Join(*decisions, ",") != "worker:approved" {
			t.Fatalf("request %+v, actions %v, decisions %v", l, actions, *decisions)
		}
	})
	t.Run("retries while the providers are down", func(t *testing.T) {
		l := queued()
		d, _ := newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return l, nil }}, idAnswer(true, nil), down)
		if err := d.DecideQueued(context.Background(), 5, false); domain.ErrorCode(err) != domain.EUNAVAILABLE {
			t.Fatalf("err = %v, want EUNAVAILABLE (retry)", err)
		}
	})
	t.Run("leaves it to a person on the last attempt", func(t *testing.T) {
		l, actions := queued(), []string{}
		d, _ := newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return l, nil },
			updateLoan: applying(t, l, &actions)}, idAnswer(true, nil), down)
		if err := d.DecideQueued(context.Background(), 5, true); err != nil {
			t.Fatal(err)
		}
		if l.Status != domain.StatusInReview || l.Reason != domain.ReasonManual || l.Undecided() {
			t.Fatalf("after the last attempt: %+v", l)
		}
	})
	t.Run("a repeat, a deleted row or a lost race is done", func(t *testing.T) {
		decided := queued()
		decided.Status, decided.Reason = domain.StatusRejected, domain.ReasonScore
		never := identityMock{func(context.Context, domain.Application) (domain.IdentityVerdict, error) {
			t.Fatal("asked a provider about a decided request")
			return domain.IdentityVerdict{}, nil
		}}
		d, _ := newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return decided, nil }}, never, approve)
		if err := d.DecideQueued(context.Background(), 5, false); err != nil {
			t.Fatalf("decided before: %v", err)
		}
		d, _ = newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) {
			return nil, domain.Errorf(domain.ENOTFOUND, "gone")
		}}, never, approve)
		if err := d.DecideQueued(context.Background(), 5, false); err != nil {
			t.Fatalf("missing request: %v", err)
		}
		l := queued()
		d, _ = newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return l, nil },
			updateLoan: func(context.Context, int64, domain.Actor, domain.UpdateFunc) (*domain.LoanRequest, error) {
				return nil, domain.Errorf(domain.ECONFLICT, "already decided")
			}}, idAnswer(true, nil), approve)
		if err := d.DecideQueued(context.Background(), 5, false); err != nil {
			t.Fatalf("decided meanwhile: %v", err)
		}
	})
	t.Run("store outages are retried", func(t *testing.T) {
		unavailable := domain.Errorf(domain.EUNAVAILABLE, "database down")
		d, _ := newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return nil, unavailable }}, idAnswer(true, nil), approve)
		if err := d.DecideQueued(context.Background(), 5, false); !errors.Is(err, unavailable) {
			t.Fatalf("err = %v", err)
		}
		l := queued()
		d, _ = newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return l, nil },
			updateLoan: func(context.Context, int64, domain.Actor, domain.UpdateFunc) (*domain.LoanRequest, error) {
				return nil, unavailable
			}},
			idAnswer(true, nil), approve)
		if err := d.DecideQueued(context.Background(), 5, false); !errors.Is(err, unavailable) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTrack(t *testing.T) {
	l := queued()
	store := &storeMock{t: t, loanByTrackingCode: func(_ context.Context, code string) (*domain.LoanRequest, error) {
		if code != l.TrackingCode {
			return nil, domain.Errorf(domain.ENOTFOUND, "no")
		}
		return l, nil
	}}
	d, _ := newDesk(store, nil, nil)
	if r, err := d.Track(context.Background(), l.TrackingCode); err != nil || r.TrackingCode != l.TrackingCode || r.Amount != l.Amount {
		t.Fatalf("Track = %+v, %v", r, err)
	}
	// A malformed code never reaches the store.
	d, _ = newDesk(&storeMock{t: t}, nil, nil)
	if _, err := d.Track(context.Background(), "' OR 1=1"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("malformed code: %v", err)
	}
}

func TestAdminActions(t *testing.T) {
	admin := domain.Actor{Name: "boss@example.com"}
	l, actions := queued(), []string{}
	d, _ := newDesk(&storeMock{t: t, updateLoan: applying(t, l, &actions)}, nil, nil)
	ctx := context.Background()
	if _, err := d.ChangeStatus(ctx, admin, 5, domain.StatusApproved, "papeles ok"); err != nil || l.Status != domain.StatusApproved || l.DecidedBy != admin.Name {
		t.Fatalf("change status: %+v %v", l, err)
	}
	if _, err := d.ChangeStatus(ctx, admin, 5, domain.StatusRejected, " "); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("blank comment: %v", err)
	}
	if _, err := d.DeleteRequest(ctx, admin, 5, ""); err != nil || !l.Deleted() {
		t.Fatalf("delete: %v", err)
	}
	if _, err := d.DeleteRequest(ctx, admin, 5, ""); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := d.RestoreRequest(ctx, admin, 5, ""); err != nil || l.Deleted() {
		t.Fatalf("restore: %v", err)
	}
	want := "boss@example.com:" + domain.ActionStatus + ",boss@example.com:" + domain.ActionDelete + ",boss@example.com:" + domain.ActionRestore
	if strings.Join(actions, ",") != want {
		t.Fatalf("audit actions %v, want %s", actions, want)
	}
}

func TestListChecksTheFilterAndFillsDefaults(t *testing.T) {
	var got domain.Filter
	store := &storeMock{t: t, listLoans: func(_ context.Context, f domain.Filter) (domain.Page, error) { got = f; return domain.Page{}, nil }}
	d, _ := newDesk(store, nil, nil)
	if _, err := d.List(context.Background(), reviewer, domain.ListQuery{}); err != nil || got.Limit != domain.DefaultPageSize {
		t.Fatalf("defaults: %+v %v", got, err)
	}
	if _, err := d.List(context.Background(), reviewer, domain.ListQuery{Q: "  Pérez "}); err != nil || got.Query != "Pérez" {
		t.Fatalf("search reached the store as %q (%v), want it trimmed", got.Query, err)
	}
	c := domain.Cursor{CreatedAt: fixedNow, ID: 7}
	if _, err := d.List(context.Background(), reviewer, domain.ListQuery{Status: "approved", From: "2026-11-01", To: "2026-11-27",
		Limit: "50", Cursor: c.String(), Deleted: "true"}); err != nil {
		t.Fatal(err)
	}
	if got.Status != domain.StatusApproved || !got.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) ||
		!got.To.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)) || got.Limit != 50 || got.After == nil || got.After.ID != 7 || !got.Deleted {
		t.Fatalf("read %+v: want every parameter, \"to\" a date including that day", got)
	}
	d, _ = newDesk(&storeMock{t: t}, nil, nil)
	for _, bad := range []struct {
		q      domain.ListQuery
		fields []string
	}{
		// Every problem at once, each named.
		{domain.ListQuery{Status: "paid", From: "2026-11-28", To: "2026-11-27", Q: strings.Repeat("x", 201), Limit: "1000",
			Cursor: "forged", Deleted: "maybe"}, []string{"status", "to", "q", "limit", "cursor", "deleted"}},
		{domain.ListQuery{Q: " ab ", Limit: "-1"}, []string{"q", "limit"}},
		{domain.ListQuery{From: "yesterday", Limit: "x"}, []string{"from", "limit"}},
		{domain.ListQuery{Q: "de la"}, []string{"q"}},
		{domain.ListQuery{Q: "%_%"}, []string{"q"}},
		{domain.ListQuery{Q: "1.2"}, []string{"q"}},
		{domain.ListQuery{Q: "301"}, []string{"q"}},
		{domain.ListQuery{From: "0000-01-01T00:00:00Z"}, []string{"from"}},
		{domain.ListQuery{Q: "uno dos tres cuatro cinco seis siete"}, []string{"q"}},
	} {
		_, err := d.List(context.Background(), reviewer, bad.q)
		e, _ := domain.AsError(err)
		if e == nil || e.Code != domain.EINVALID {
			t.Fatalf("bad filter %+v: %v", bad.q, err)
		}
		if len(e.Fields) != len(bad.fields) {
			t.Errorf("%+v: problems %v, want exactly %v", bad.q, e.Fields, bad.fields)
		}
		for _, f := range bad.fields {
			if e.Fields[f] == "" {
				t.Errorf("no message for %s: %v", f, e.Fields)
			}
		}
	}
}

// A message states the rule's own numbers: change a constant, the message
// follows.
func TestListMessagesSayTheConstants(t *testing.T) {
	for q, want := range map[domain.ListQuery]string{
		{Q: "uno dos tres cuatro cinco seis siete"}: strconv.Itoa(domain.MaxSearchWords) + " words",
		{Q: "301"}:                    strconv.Itoa(domain.MinDigits) + " digits",
		{Q: "ab"}:                     strconv.Itoa(domain.MinQuery) + " letters",
		{Q: strings.Repeat("x", 201)}: strconv.Itoa(domain.MaxQueryLength) + " characters",
		{Limit: "0"}:                  "1 to " + strconv.Itoa(domain.MaxPageSize),
	} {
		_, err := q.Filter()
		e, _ := domain.AsError(err)
		msg := ""
		if e != nil {
			msg = e.Fields["q"] + e.Fields["limit"]
		}
		if !strings.Contains(msg, want) {
			t.Errorf("%+v: %q, want it to say %q", q, msg, want)
		}
	}
}

func TestCursorsRoundTripAndRejectForgeries(t *testing.T) {
	c := domain.Cursor{CreatedAt: time.Date(2026, 11, 27, 12, 0, 0, 123456000, time.UTC), ID: 42}
	got, err := domain.ParseCursor(c.String())
	if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, s := range []string{"", "!!", "MTIz", "YS5i", "MTIzLjA", "MTIzLi0x"} { // "", junk, "123", "a.b", "123.0", "123.-1"
		if _, err := domain.ParseCursor(s); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("ParseCursor(%q) = %v, want EINVALID", s, err)
		}
	}
}

func TestActivityHasEveryDayAndTheQueue(t *testing.T) {
	var asked [2]time.Time
	store := &storeMock{t: t,
		dailyCounts: func(_ context.Context, from, to time.Time) ([]domain.DayCount, error) {
			asked = [2]time.Time{from, to}
			return []domain.DayCount{{Day: fixedNow.Truncate(24 * time.Hour), Approved: 2}, {Day: fixedNow.AddDate(0, 0, -3).Truncate(24 * time.Hour), Rejected: 1}}, nil
		},
		queueDepth: func(context.Context) (domain.QueueDepth, error) { return domain.QueueDepth{Ready: 4}, nil },
	}
	d, _ := newDesk(store, nil, nil)
	a, err := d.Activity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	today := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	if !asked[0].Equal(today.AddDate(0, 0, -29)) || !asked[1].Equal(today.AddDate(0, 0, 1)) {
		t.Errorf("asked for %v", asked)
	}
	if len(a.Days) != domain.ActivityDays || !a.Days[29].Day.Equal(today) || a.Days[29].Approved != 2 || a.Days[26].Rejected != 1 || a.Days[0].Day != today.AddDate(0, 0, -29) {
		t.Errorf("days = %+v", a.Days)
	}
	if a.Queue.Ready != 4 {
		t.Errorf("queue = %+v", a.Queue)
	}
	store.queueDepth = func(context.Context) (domain.QueueDepth, error) {
		return domain.QueueDepth{}, domain.Errorf(domain.EUNAVAILABLE, "down")
	}
	if _, err := d.Activity(context.Background()); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Errorf("a failing store: %v", err)
	}
	store.dailyCounts = func(context.Context, time.Time, time.Time) ([]domain.DayCount, error) {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "down")
	}
	if _, err := d.Activity(context.Background()); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Errorf("a failing store: %v", err)
	}
}

func TestDetailAndStats(t *testing.T) {
	l := queued()
	store := &storeMock{t: t,
		loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return l, nil },
		auditTrail: func(context.Context, int64) ([]domain.AuditEvent, error) {
			return []domain.AuditEvent{{Action: "decide"}}, nil
		},
		stats: func(context.Context) (domain.Stats, error) { return domain.Stats{Approved: 3}, nil },
	}
	d, _ := newDesk(store, nil, nil)
	got, events, err := d.Detail(context.Background(), reviewer, 5)
	if err != nil || got != l || len(events) != 1 {
		t.Fatalf("Detail = %v %v %v", got, events, err)
	}
	if s, err := d.Stats(context.Background()); err != nil || s.Approved != 3 {
		t.Fatalf("Stats = %+v %v", s, err)
	}
	d, _ = newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no")
	}}, nil, nil)
	if _, _, err := d.Detail(context.Background(), reviewer, 5); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("missing: %v", err)
	}
}

func TestParseSearchReadsWhatAnAdminTypes(t *testing.T) {
	for q, want := range map[string]domain.Search{
		" 30.123.950 ":            {Digits: "30123950"},
		"30 123":                  {Digits: "30123"},
		"30-123-950":              {Digits: "30123950"},
		"Gonza\u0301lez":          {Words: []string{"gonza\u0301lez"}},
		"Ana.Perez@Gmail":         {Email: "ana.perez@gmail"},
		"@gmail.com":              {Words: []string{"gmail", "com"}},
		"María José de la Fuente": {Words: []string{"maría", "josé", "fuente"}},
		"pérez-gómez PÉREZ":       {Words: []string{"pérez", "gómez"}},
		"O'Brien 12345":           {Words: []string{"brien", "12345"}},
		"ab cd":                   {},
	} {
		if got := domain.ParseSearch(q); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSearch(%q) = %+v, want %+v", q, got, want)
		}
	}
}

// A call that finds the key claimed waits for the winner's answer and
// replays it: the providers are asked by the winner only.
func TestSubmitWaitsForTheCallThatHoldsTheKey(t *testing.T) {
	a := goodApp()
	a.Normalize()
	winner := &domain.LoanRequest{ID: 11, TrackingCode: "LD-0000000011", Application: a, Status: domain.StatusApproved, Fingerprint: a.Fingerprint()}
	polls := 0
	store := &storeMock{t: t, claimFiling: func(context.Context, string, string, time.Duration) (domain.Claim, error) {
		polls++
		if polls < 3 {
			return domain.Claim{Holder: a.Fingerprint()}, nil
		}
		return domain.Claim{Filed: winner}, nil
	}}
	never := identityMock{func(context.Context, domain.Application) (domain.IdentityVerdict, error) {
		t.Fatal("a call that lost the claim asked identity")
		return domain.IdentityVerdict{}, nil
	}}
	d, _ := newDesk(store, never, approve)
	sub, err := d.Submit(context.Background(), "key-00000011", goodApp())
	if err != nil || !sub.Replayed || sub.Receipt.TrackingCode != winner.TrackingCode || polls != 3 {
		t.Fatalf("got %+v, %v after %d polls; want the winner's answer after it was saved", sub, err, polls)
	}
	// Other content under a held key is a conflict at once.
	polls = 0
	other := goodApp()
	other.Amount = 300000
	if _, err := d.Submit(context.Background(), "key-00000011", other); domain.ErrorCode(err) != domain.ECONFLICT || polls != 1 {
		t.Fatalf("other content under a held key: %v after %d polls, want ECONFLICT at once", err, polls)
	}
}

// The save outlives the caller but not SaveTimeout.
func TestSubmitSavesWithinSaveTimeout(t *testing.T) {
	var deadline time.Time
	store := &storeMock{t: t, claimFiling: won,
		createLoan: func(ctx context.Context, l *domain.LoanRequest) (*domain.LoanRequest, bool, error) {
			var ok bool
			if deadline, ok = ctx.Deadline(); !ok {
				t.Fatal("the save has no deadline")
			}
			return l, false, nil
		}}
	d, _ := newDesk(store, idAnswer(true, nil), approve)
	if _, err := d.Submit(context.Background(), "key-00000012", goodApp()); err != nil {
		t.Fatal(err)
	}
	// Set before Submit returned: at most SaveTimeout from then.
	if end := time.Now(); deadline.After(end.Add(domain.SaveTimeout)) {
		t.Fatalf("the save may take until %v after Submit returned, more than SaveTimeout", deadline.Sub(end))
	}
}

var reviewerID int64 = 3

// reviewer is the admin the desk tests act as.
var reviewer = domain.Actor{AdminID: &reviewerID, Name: "ana@example.com"}

// Every request shown and every page of the list is in the security log,
// naming the admin and the search's kind, never its text; a view that
// cannot be recorded shows nothing.
func TestViewsOfPersonalDataAreRecorded(t *testing.T) {
	l := queued()
	store := &storeMock{t: t,
		loanByID:   func(context.Context, int64) (*domain.LoanRequest, error) { return l, nil },
		auditTrail: func(context.Context, int64) ([]domain.AuditEvent, error) { return nil, nil },
		listLoans: func(context.Context, domain.Filter) (domain.Page, error) {
			return domain.Page{Items: []domain.LoanRequest{*l}}, nil
		},
	}
	d, _ := newDesk(store, nil, nil)
	log := &logMock{}
	d.Views = log
	ctx := context.Background()
	for _, q := range []string{"", "30.123.950", "Ana.Perez@Example.com", "Pérez Soto"} {
		if _, err := d.List(ctx, reviewer, domain.ListQuery{Q: q}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := d.Detail(ctx, reviewer, 5); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log.events {
		if e.AdminID == nil || *e.AdminID != reviewerID {
			t.Errorf("event %+v does not name the admin", e)
		}
		id := ""
		if e.RequestID != nil {
			id = strconv.FormatInt(*e.RequestID, 10)
		}
		got = append(got, e.Kind+" "+e.Detail+" "+id)
	}
	want := []string{"requests_listed  ", "requests_listed dni ", "requests_listed email ", "requests_listed name ", "request_viewed  5"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("recorded %q, want %q", got, want)
	}
	log.err = domain.Errorf(domain.EUNAVAILABLE, "database down")
	if p, err := d.List(ctx, reviewer, domain.ListQuery{}); domain.ErrorCode(err) != domain.EUNAVAILABLE || len(p.Items) != 0 {
		t.Fatalf("list unrecorded: %d items, %v; want none and EUNAVAILABLE", len(p.Items), err)
	}
	if got, _, err := d.Detail(ctx, reviewer, 5); domain.ErrorCode(err) != domain.EUNAVAILABLE || got != nil {
		t.Fatalf("detail unrecorded: %v, %v; want nothing and EUNAVAILABLE", got, err)
	}
}

type erasureMock func(ctx context.Context, id int64, doc string, actor domain.Actor, e domain.SecurityEvent) (int, error)

func (m erasureMock) EraseApplicant(ctx context.Context, id int64, doc string, actor domain.Actor, e domain.SecurityEvent) (int, error) {
	return m(ctx, id, doc, actor, e)
}

// The admin confirms an erasure with the applicant's document number, as
// they would type it; the store gets its digits, and the log's line names
// the admin and the request, never the number.
func TestAnErasureIsConfirmedByTheDocumentNumber(t *testing.T) {
	l := queued()
	var got string
	var logged domain.SecurityEvent
	d, _ := newDesk(&storeMock{t: t, loanByID: func(context.Context, int64) (*domain.LoanRequest, error) { return l, nil }}, nil, nil)
	d.Erasure = erasureMock(func(_ context.Context, id int64, doc string, _ domain.Actor, e domain.SecurityEvent) (int, error) {
		got, logged = doc, e
		return 2, nil
	})
	for _, bad := range []string{"", "301", "30.123.950.1", "treinta"} {
		if _, err := d.EraseApplicant(context.Background(), reviewer, 5, bad); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("confirmed with %q: %v, want EINVALID", bad, err)
		}
	}
	done, err := d.EraseApplicant(context.Background(), reviewer, 5, " 30.123.950 ")
	if err != nil || done.Requests != 2 || done.Request != l || got != "30123950" {
		t.Fatalf("EraseApplicant = %+v %v (store got %q)", done, err, got)
	}
	if logged.Kind != domain.EventApplicantErased || *logged.RequestID != 5 || *logged.AdminID != reviewerID || logged.Subject+logged.Detail != "" {
		t.Fatalf("logged %+v", logged)
	}
}
