package domain

import (
	"context"
	"log/slog"
	"time"
)

// Actor is who changed something: an admin, or "system" for automatic decisions.
type Actor struct {
	AdminID *int64
	Name    string
}

// System is the actor of automatic decisions.
var System = Actor{Name: "system"}

// AuditEvent records one change to a request: who, when, what, before and after.
type AuditEvent struct {
	ID        int64          `json:"id"`
	RequestID int64          `json:"request_id"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	Comment   string         `json:"comment,omitempty"`
	Before    map[string]any `json:"before"`
	After     map[string]any `json:"after"`
	CreatedAt time.Time      `json:"created_at"`
}

// Audit actions.
const (
	ActionDecide  = "decide"
	ActionStatus  = "status_change"
	ActionDelete  = "delete"
	ActionRestore = "restore"
)

// Filter selects requests for the admin list.
type Filter struct {
	Status   Status    // empty: any
	From, To time.Time // zero: unbounded; To is exclusive
	Query    string    // matches name, email or document number
	Deleted  bool      // list soft-deleted requests instead of live ones
	Page     int       // 1-based
	PageSize int
}

// Page is one page of the admin list.
type Page struct {
	Items    []LoanRequest
	Total    int
	Page     int
	PageSize int
}

// Stats counts live requests by status, plus the soft-deleted ones.
type Stats struct {
	InReview int `json:"in_review"`
	Approved int `json:"approved"`
	Rejected int `json:"rejected"`
	Deleted  int `json:"deleted"`
}

// UpdateFunc changes a loaded request in place and says what it did, for the
// audit trail. Returning an error aborts the update.
type UpdateFunc func(l *LoanRequest) (action, comment string, err error)

// DecisionJob asks the worker to decide one request. The store queues it in
// the same transaction that saves an undecided request, so no request can be
// saved without it (PostgreSQL is the queue: see internal/postgres).
type DecisionJob struct {
	RequestID int64 `json:"request_id"`
}

// Kind names the job for the queue.
func (DecisionJob) Kind() string { return "decide" }

// QueueDepth counts the decision jobs not done yet.
type QueueDepth struct {
	Ready   int64 // may run now
	Waiting int64 // scheduled for a retry (the providers could not answer)
	Running int64 // being worked now
}

// Total is every job not done yet.
func (q QueueDepth) Total() int64 { return q.Ready + q.Waiting + q.Running }

// DecisionAttempts is how many times the worker asks the providers about a
// request before leaving it for a person (about 1.5 hours of outage with the
// worker's default backoff).
const DecisionAttempts = 100

// LoanStore keeps loan requests, their audit trail and their decision jobs.
// Every method may also fail with EUNAVAILABLE (the database cannot answer
// now; retry later) or EINTERNAL.
type LoanStore interface {
	// CreateLoan saves a new request in one transaction with what follows
	// from it: the automatic decision's audit event when l is decided, or a
	// DecisionJob when l is undecided. When a request already holds
	// l.IdempotencyKey nothing is written, and that one is returned with
	// existed=true.
	CreateLoan(ctx context.Context, l *LoanRequest) (stored *LoanRequest, existed bool, err error)
	// LoanByIdempotencyKey errors: ENOTFOUND.
	LoanByIdempotencyKey(ctx context.Context, key string) (*LoanRequest, error)
	// LoanByTrackingCode errors: ENOTFOUND (also for deleted requests).
	LoanByTrackingCode(ctx context.Context, code string) (*LoanRequest, error)
	// LoanByID errors: ENOTFOUND.
	LoanByID(ctx context.Context, id int64) (*LoanRequest, error)
	// UpdateLoan loads the request under a row lock, applies fn and saves the
	// result together with one audit event, in one transaction.
	// Errors: ENOTFOUND, whatever fn returns.
	UpdateLoan(ctx context.Context, id int64, actor Actor, fn UpdateFunc) (*LoanRequest, error)
	ListLoans(ctx context.Context, f Filter) (Page, error)
	AuditTrail(ctx context.Context, requestID int64) ([]AuditEvent, error)
	Stats(ctx context.Context) (Stats, error)
}

// Desk is the loan desk: filing, deciding and tracking requests, and the
// admin actions on them. Its dependencies are small interfaces; adapters
// implement them and cmd/loandesk wires them.
type Desk struct {
	Store    LoanStore
	Identity IdentityChecker
	Scoring  Scorer
	// DecisionTimeout bounds one decision: the applicant waits at most this
	// long, and so does each of the worker's attempts.
	DecisionTimeout time.Duration
	Log             *slog.Logger
	Now             func() time.Time
	// OnDecision, if set, is told of each automatic decision ("api" or "worker").
	OnDecision func(source string, s Status)
}

func (d *Desk) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	// PostgreSQL keeps microseconds; so do we, so an answer given now and
	// one read back later agree.
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Submitted is the result of Submit.
type Submitted struct {
	Receipt  Receipt
	Replayed bool // true when this is the stored answer to an earlier call with the key
}

// Submit files an application under an idempotency key. It asks the
// providers first (at most DecisionTimeout), then saves the request in one
// transaction: decided, or undecided with a job for the worker. The key is
// the row's unique key: a repeated key gets the first answer, and no key
// ever makes two requests, whatever else fails.
//
// Errors: EINVALID (bad fields or key), ECONFLICT (key reused with other
// content), EUNAVAILABLE (the database cannot answer; retry with the same
// key), EINTERNAL.
func (d *Desk) Submit(ctx context.Context, key string, a Application) (Submitted, error) {
	if !ValidIdempotencyKey(key) {
		return Submitted{}, &Error{Code: EINVALID, Message: "the Idempotency-Key header must be 8 to 128 characters of letters, digits, '-' or '_'",
			Fields: map[string]string{"Idempotency-Key": "must be 8 to 128 characters of letters, digits, '-' or '_'"}}
	}
	a.Normalize()
	if err := a.Validate(); err != nil {
		return Submitted{}, err
	}
	fp := a.Fingerprint()
	// A retry of an answered filing gets that answer without asking the
	// providers again.
	prev, err := d.Store.LoanByIdempotencyKey(ctx, key)
	if err == nil {
		return replay(prev, fp)
	}
	if ErrorCode(err) != ENOTFOUND {
		return Submitted{}, err
	}
	now := d.now()
	l := &LoanRequest{
		TrackingCode: NewTrackingCode(), Application: a, Status: StatusInReview,
		IdempotencyKey: key, Fingerprint: fp, CreatedAt: now, UpdatedAt: now,
	}
	dec, err := d.decide(ctx, a)
	decided := err == nil
	if decided {
		if err := l.ApplyDecision(dec, d.now()); err != nil {
			return Submitted{}, err
		}
	} else {
		d.Log.InfoContext(ctx, "providers did not answer in time; the worker will decide", "err", err)
	}
	// Saved even if the applicant hung up meanwhile: their retry with the
	// same key finds it.
	stored, existed, err := d.Store.CreateLoan(context.WithoutCancel(ctx), l)
	if err != nil {
		return Submitted{}, err
	}
	if existed { // a concurrent call with this key saved first
		return replay(stored, fp)
	}
	if decided && d.OnDecision != nil {
		d.OnDecision("api", stored.Status)
	}
	return Submitted{Receipt: stored.Receipt()}, nil
}

func replay(l *LoanRequest, fp string) (Submitted, error) {
	if l.Fingerprint != fp {
		return Submitted{}, Errorf(ECONFLICT, "this Idempotency-Key was already used for a different request")
	}
	return Submitted{Receipt: l.Receipt(), Replayed: true}, nil
}

// decide asks the providers, within DecisionTimeout. A permanent refusal
// decides too: the request goes to a person. Errors: EUNAVAILABLE.
func (d *Desk) decide(ctx context.Context, a Application) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, d.DecisionTimeout)
	defer cancel()
	dec, err := Decide(ctx, d.Identity, d.Scoring, a)
	if ErrorCode(err) == EPERMANENT {
		d.Log.WarnContext(ctx, "a provider refused the request; a person must decide", "err", err)
		return Decision{Status: StatusInReview, Reason: ReasonManual}, nil
	}
	return dec, err
}

// DecideQueued is the worker's step for one queued request: nil when there
// is nothing left to do (decided now or before, or gone). On the last
// attempt a request the providers still cannot decide is left for a person.
// Errors: EUNAVAILABLE (retry later), EINTERNAL.
func (d *Desk) DecideQueued(ctx context.Context, id int64, lastAttempt bool) error {
	l, err := d.Store.LoanByID(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil // nothing to decide; never retry it
	}
	if err != nil {
		return err
	}
	if !l.Undecided() {
		return nil // at-least-once delivery: a repeat is a no-op
	}
	dec, err := d.decide(ctx, l.Application)
	if err != nil {
		if !lastAttempt {
			return err
		}
		d.Log.WarnContext(ctx, "giving up on the providers; a person must decide", "request_id", id, "err", err)
		dec = Decision{Status: StatusInReview, Reason: ReasonManual}
	}
	// The decision is saved even if the worker is stopping meanwhile.
	_, err = d.Store.UpdateLoan(context.WithoutCancel(ctx), id, System, func(l *LoanRequest) (string, string, error) {
		return ActionDecide, "", l.ApplyDecision(dec, d.now())
	})
	switch {
	case ErrorCode(err) == ECONFLICT:
		return nil // someone decided it meanwhile
	case err != nil:
		return err
	}
	if d.OnDecision != nil {
		d.OnDecision("worker", dec.Status)
	}
	return nil
}

// Track returns the public view of a request by tracking code.
// Errors: ENOTFOUND.
func (d *Desk) Track(ctx context.Context, code string) (Receipt, error) {
	if !ValidTrackingCode(code) {
		return Receipt{}, Errorf(ENOTFOUND, "no request has this tracking code")
	}
	l, err := d.Store.LoanByTrackingCode(ctx, code)
	if err != nil {
		return Receipt{}, err
	}
	return l.Receipt(), nil
}

// ChangeStatus is an admin's decision, with a mandatory comment.
// Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (d *Desk) ChangeStatus(ctx context.Context, actor Actor, id int64, s Status, comment string) (*LoanRequest, error) {
	return d.Store.UpdateLoan(ctx, id, actor, func(l *LoanRequest) (string, string, error) {
		return ActionStatus, comment, l.SetStatus(s, comment, actor.Name, d.now())
	})
}

// DeleteRequest soft-deletes. Errors: ENOTFOUND, ECONFLICT.
func (d *Desk) DeleteRequest(ctx context.Context, actor Actor, id int64, comment string) (*LoanRequest, error) {
	return d.Store.UpdateLoan(ctx, id, actor, func(l *LoanRequest) (string, string, error) {
		return ActionDelete, comment, l.Delete(d.now())
	})
}

// RestoreRequest undoes a soft delete. Errors: ENOTFOUND, ECONFLICT.
func (d *Desk) RestoreRequest(ctx context.Context, actor Actor, id int64, comment string) (*LoanRequest, error) {
	return d.Store.UpdateLoan(ctx, id, actor, func(l *LoanRequest) (string, string, error) {
		return ActionRestore, comment, l.Restore(d.now())
	})
}

// MaxPageSize bounds the admin list.
const MaxPageSize = 100

// List returns a page of requests for admins. Errors: EINVALID.
func (d *Desk) List(ctx context.Context, f Filter) (Page, error) {
	problems := map[string]string{}
	if f.Status != "" && !f.Status.Valid() {
		problems["status"] = "must be in_review, approved or rejected"
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		problems["to"] = "must be after from"
	}
	if len(f.Query) > 200 {
		problems["q"] = "must be at most 200 characters"
	}
	if f.Page == 0 {
		f.Page = 1
	}
	if f.PageSize == 0 {
		f.PageSize = 20
	}
	if f.Page < 1 || f.Page > 100000 {
		problems["page"] = "must be a positive number"
	}
	if f.PageSize < 1 || f.PageSize > MaxPageSize {
		problems["page_size"] = "must be from 1 to 100"
	}
	if len(problems) > 0 {
		return Page{}, &Error{Code: EINVALID, Message: "the list filter has invalid fields", Fields: problems}
	}
	return d.Store.ListLoans(ctx, f)
}

// Detail returns a request and its audit trail. Errors: ENOTFOUND.
func (d *Desk) Detail(ctx context.Context, id int64) (*LoanRequest, []AuditEvent, error) {
	l, err := d.Store.LoanByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	events, err := d.Store.AuditTrail(ctx, id)
	return l, events, err
}

// Stats counts requests by status.
func (d *Desk) Stats(ctx context.Context) (Stats, error) { return d.Store.Stats(ctx) }
