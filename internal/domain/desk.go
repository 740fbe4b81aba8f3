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

// LoanStore keeps loan requests and their audit trail.
type LoanStore interface {
	// CreateLoan inserts l unless a request with l.IdempotencyKey exists, in
	// which case it returns that one and existed=true. Errors: EINTERNAL.
	CreateLoan(ctx context.Context, l *LoanRequest) (stored *LoanRequest, existed bool, err error)
	// LoanByTrackingCode errors: ENOTFOUND (also for deleted requests).
	LoanByTrackingCode(ctx context.Context, code string) (*LoanRequest, error)
	// LoanByID errors: ENOTFOUND.
	LoanByID(ctx context.Context, id int64) (*LoanRequest, error)
	// UpdateLoan loads the request under a row lock, applies fn and saves the
	// result together with one audit event, in one transaction.
	// Errors: ENOTFOUND, whatever fn returns.
	UpdateLoan(ctx context.Context, id int64, actor Actor, fn UpdateFunc) (*LoanRequest, error)
	// MarkQueued records that the request sits in the decision queue.
	MarkQueued(ctx context.Context, id int64, at time.Time) error
	// StaleUndecided lists undecided requests that were never queued and were
	// created before notQueuedBefore, or were queued before requeueBefore.
	StaleUndecided(ctx context.Context, notQueuedBefore, requeueBefore time.Time, limit int) ([]int64, error)
	ListLoans(ctx context.Context, f Filter) (Page, error)
	AuditTrail(ctx context.Context, requestID int64) ([]AuditEvent, error)
	Stats(ctx context.Context) (Stats, error)
}

// Queue holds ids of requests that wait for a decision.
type Queue interface {
	Enqueue(ctx context.Context, requestID int64) error
}

// QueuedRequest is one message of the decision queue.
type QueuedRequest struct {
	ID         string // the queue's message id
	RequestID  int64
	Deliveries int64 // how many times it was handed to a worker, this one included
}

// IdemState is what the idempotency store knows of a key.
type IdemState int

const (
	IdemNew     IdemState = iota // the caller now owns the key
	IdemPending                  // another call with this key is in flight
	IdemDone                     // the first call finished; Receipt is its answer
)

// IdempotencyStore remembers the first answer given for an Idempotency-Key.
type IdempotencyStore interface {
	// Begin claims key for a request with the given fingerprint, or reports
	// the key's state. Errors: ECONFLICT when the key was used with another
	// fingerprint.
	Begin(ctx context.Context, key, fingerprint string) (IdemState, Receipt, error)
	// Complete stores r as the answer for key (claimed for fingerprint).
	Complete(ctx context.Context, key, fingerprint string, r Receipt) error
	Release(ctx context.Context, key string) error
}

// Desk is the loan desk: filing, deciding and tracking requests, and the
// admin actions on them. Its dependencies are small interfaces; adapters
// implement them and cmd/loandesk wires them.
type Desk struct {
	Store       LoanStore
	Queue       Queue
	Idempotency IdempotencyStore
	Identity    IdentityChecker
	Scoring     Scorer
	// DecisionTimeout bounds the synchronous decision while the applicant waits.
	DecisionTimeout time.Duration
	// IdemWait is how long a repeated key waits for the first call to finish.
	IdemWait time.Duration
	Log      *slog.Logger
	Now      func() time.Time
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

// Submit files an application under an idempotency key, decides it if the
// providers answer in time, and queues it otherwise. A repeated key returns
// the first answer; no key ever makes two requests.
//
// Errors: EINVALID (bad fields or key), ECONFLICT (key reused with other
// content, or the first call with the key is still running), EINTERNAL.
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

	owned := false
	if d.Idempotency != nil {
		state, rec, err := d.beginIdem(ctx, key, fp)
		switch {
		case err != nil && ErrorCode(err) != EINTERNAL:
			return Submitted{}, err
		case err != nil:
			// Valkey trouble must not stop filing: PostgreSQL's unique key still
			// guarantees one request per key.
			d.Log.WarnContext(ctx, "idempotency store unavailable; relying on the database key", "err", err)
		case state == IdemDone:
			return Submitted{Receipt: rec, Replayed: true}, nil
		default:
			owned = true
		}
	}
	sub, err := d.file(ctx, key, fp, a)
	if owned {
		if err != nil {
			// Let the client retry with the same key.
			if rerr := d.Idempotency.Release(context.WithoutCancel(ctx), key); rerr != nil {
				d.Log.WarnContext(ctx, "releasing idempotency key", "err", rerr)
			}
		} else if cerr := d.Idempotency.Complete(context.WithoutCancel(ctx), key, fp, sub.Receipt); cerr != nil {
			d.Log.WarnContext(ctx, "storing idempotent response", "err", cerr)
		}
	}
	return sub, err
}

// beginIdem claims the key, waiting a little for a concurrent first call.
func (d *Desk) beginIdem(ctx context.Context, key, fp string) (IdemState, Receipt, error) {
	deadline := d.now().Add(d.IdemWait)
	for {
		state, rec, err := d.Idempotency.Begin(ctx, key, fp)
		if err != nil || state != IdemPending {
			return state, rec, err
		}
		if d.now().After(deadline) {
			return 0, Receipt{}, &Error{Code: ECONFLICT, Message: "a request with this Idempotency-Key is still being processed; retry shortly", RetryAfter: 1}
		}
		select {
		case <-ctx.Done():
			return 0, Receipt{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d *Desk) file(ctx context.Context, key, fp string, a Application) (Submitted, error) {
	now := d.now()
	l := &LoanRequest{
		TrackingCode: NewTrackingCode(), Application: a, Status: StatusInReview,
		IdempotencyKey: key, Fingerprint: fp, CreatedAt: now, UpdatedAt: now,
	}
	stored, existed, err := d.Store.CreateLoan(ctx, l)
	if err != nil {
		return Submitted{}, err
	}
	if existed {
		if stored.Fingerprint != fp {
			return Submitted{}, Errorf(ECONFLICT, "this Idempotency-Key was already used for a different request")
		}
		return Submitted{Receipt: stored.Receipt(), Replayed: true}, nil
	}
	decided, err := d.decide(ctx, stored)
	if err != nil {
		return Submitted{}, err
	}
	return Submitted{Receipt: decided.Receipt()}, nil
}

// decide tries to decide l now; if the providers cannot answer, it queues l
// and returns it unchanged (in review).
func (d *Desk) decide(ctx context.Context, l *LoanRequest) (*LoanRequest, error) {
	dctx, cancel := context.WithTimeout(ctx, d.DecisionTimeout)
	dec, err := Decide(dctx, d.Identity, d.Scoring, l.Application)
	cancel()
	switch ErrorCode(err) {
	case "":
		return d.apply(ctx, l.ID, dec, "api")
	case EPERMANENT:
		d.Log.WarnContext(ctx, "provider refused the request; a person must decide", "request_id", l.ID, "err", err)
		return d.apply(ctx, l.ID, Decision{Status: StatusInReview, Reason: ReasonManual}, "api")
	}
	d.Log.InfoContext(ctx, "providers did not answer; request queued", "request_id", l.ID, "err", err)
	// The request is stored; if queueing fails the sweeper queues it later.
	if qerr := d.Queue.Enqueue(ctx, l.ID); qerr != nil {
		d.Log.ErrorContext(ctx, "queueing request; the sweeper will retry", "request_id", l.ID, "err", qerr)
		return l, nil
	}
	if merr := d.Store.MarkQueued(ctx, l.ID, d.now()); merr != nil {
		d.Log.WarnContext(ctx, "marking request queued", "request_id", l.ID, "err", merr)
	}
	return l, nil
}

func (d *Desk) apply(ctx context.Context, id int64, dec Decision, source string) (*LoanRequest, error) {
	// The decision is saved even if the applicant hung up meanwhile.
	l, err := d.Store.UpdateLoan(context.WithoutCancel(ctx), id, System, func(l *LoanRequest) (string, string, error) {
		return ActionDecide, "", l.ApplyDecision(dec, d.now())
	})
	if err == nil && d.OnDecision != nil {
		d.OnDecision(source, dec.Status)
	}
	return l, err
}

// DecideQueued is the worker's step for one queued request. done=true means
// the message can be acknowledged: decided now, decided before, deleted, or
// left for a person. Errors: EUNAVAILABLE (retry later), EINTERNAL.
func (d *Desk) DecideQueued(ctx context.Context, id int64) (done bool, err error) {
	l, err := d.Store.LoanByID(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return true, nil // nothing to decide; never retry it
	}
	if err != nil {
		return false, err
	}
	if !l.Undecided() || l.Deleted() {
		return true, nil // at-least-once delivery: a repeat is a no-op
	}
	dctx, cancel := context.WithTimeout(ctx, d.DecisionTimeout)
	dec, err := Decide(dctx, d.Identity, d.Scoring, l.Application)
	cancel()
	switch ErrorCode(err) {
	case "":
	case EPERMANENT:
		dec = Decision{Status: StatusInReview, Reason: ReasonManual}
	default:
		return false, err
	}
	_, err = d.apply(ctx, id, dec, "worker")
	if ErrorCode(err) == ECONFLICT {
		return true, nil // someone else decided it meanwhile
	}
	return err == nil, err
}

// RequeueStale queues undecided requests that missed the queue (a crash
// between saving and queueing) or sat in it too long (a lost queue).
func (d *Desk) RequeueStale(ctx context.Context, notQueuedFor, queuedFor time.Duration) (int, error) {
	now := d.now()
	ids, err := d.Store.StaleUndecided(ctx, now.Add(-notQueuedFor), now.Add(-queuedFor), 500)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if err := d.Queue.Enqueue(ctx, id); err != nil {
			return i, err
		}
		if err := d.Store.MarkQueued(ctx, id, now); err != nil {
			return i, err
		}
	}
	return len(ids), nil
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
