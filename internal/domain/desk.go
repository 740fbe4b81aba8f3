package domain

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	ActionErase   = "erase"
)

// Filter selects requests for the admin list, newest first.
type Filter struct {
	Status   Status    // empty: any
	From, To time.Time // zero: unbounded; To is exclusive
	Query    string    // words of the name or email, an email's start, or digits of the document (see ParseSearch)
	Deleted  bool      // list soft-deleted requests instead of live ones
	After    *Cursor   // the page after this position; nil: the first page
	Limit    int       // items per page
}

// Cursor is a position in the admin list: pages are read from a position
// (keyset), so a deep page costs what the first does.
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// String encodes the cursor for a URL: opaque to clients.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)))
}

// ParseCursor reads a cursor written by String. Errors: EINVALID.
func ParseCursor(s string) (Cursor, error) {
	bad := &Error{Code: EINVALID, Message: "the list filter has invalid fields", Fields: map[string]string{"cursor": "is not a cursor this list gave"}}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	us, id, ok := strings.Cut(string(b), ".")
	micros, err1 := strconv.ParseInt(us, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 1 {
		return Cursor{}, bad
	}
	return Cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: n}, nil
}

// Page is one page of the admin list.
type Page struct {
	Items []LoanRequest
	Next  *Cursor // where the next page starts; nil on the last page
	// Total counts every match, or, with TotalAtLeast, at least that many:
	// counting a broad search exactly would read the whole table.
	Total        int
	TotalAtLeast bool
}

// CountCap is where exact counting stops ("more than 100"): a search is
// counted by reading its matches, and at 10 M rows a hundred matches of
// two common words cost what a page does (a thousand: 200 ms).
const CountCap = 100

// Stats counts live requests by status, plus the soft-deleted ones.
type Stats struct {
	InReview int `json:"in_review"`
	Approved int `json:"approved"`
	Rejected int `json:"rejected"`
	Deleted  int `json:"deleted"`
}

// DayCount is the requests filed on one day (UTC), by their status now.
type DayCount struct {
	Day      time.Time `json:"day"`
	InReview int       `json:"in_review"`
	Approved int       `json:"approved"`
	Rejected int       `json:"rejected"`
}

// Activity is the dashboard's picture of the flow: filings per day by
// outcome, and the decision queue now.
type Activity struct {
	Days  []DayCount `json:"days"`
	Queue QueueDepth `json:"queue"`
}

// UpdateFunc changes a loaded request in place and says what it did, for the
// audit trail. Returning an error aborts the update.
type UpdateFunc func(l *LoanRequest) (action, comment string, err error)

// QueueDepth counts the decision jobs not done yet.
type QueueDepth struct {
	Ready   int64 `json:"ready"`   // may run now
	Waiting int64 `json:"waiting"` // scheduled for a retry (the providers could not answer)
	Running int64 `json:"running"` // being worked now
	// OldestReady is how long the oldest ready job has waited for a worker
	// (0 when none waits): long means no worker takes jobs. Oldest is the
	// age of the oldest job not done, since its filing: how late the
	// latest decision is. Metrics only, not in the admin's activity.
	OldestReady time.Duration `json:"-"`
	Oldest      time.Duration `json:"-"`
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
	// ClaimFiling claims an idempotency key for a filing of content
	// fingerprint for ttl, before the providers are asked: the one call
	// that wins asks them; concurrent calls with the key wait for its
	// answer. It returns the request already filed under the key, if any
	// (nothing is claimed then); else whether this call won, and if not the
	// fingerprint the holder files ("" when not known yet). A claim whose
	// ttl passed without a save is taken over.
	ClaimFiling(ctx context.Context, key, fingerprint string, ttl time.Duration) (Claim, error)
	// ReleaseFiling gives a claim up after its save failed, so a retry
	// need not wait for the claim's ttl. Best effort.
	ReleaseFiling(ctx context.Context, key string) error
	// CreateLoan saves a new request in one transaction with what follows
	// from it: the automatic decision's audit event when l is decided, or
	// its place in the queue of decisions (the worker's) when l is
	// undecided; its key's claim is settled with it.
	// When a request already holds l.IdempotencyKey nothing is written, and
	// that one is returned with existed=true.
	CreateLoan(ctx context.Context, l *LoanRequest) (stored *LoanRequest, existed bool, err error)
	// LoanByTrackingCode errors: ENOTFOUND (also for deleted requests).
	LoanByTrackingCode(ctx context.Context, code string) (*LoanRequest, error)
	// LoanByID errors: ENOTFOUND.
	LoanByID(ctx context.Context, id int64) (*LoanRequest, error)
	// UpdateLoan loads the request under a row lock, applies fn and saves the
	// result together with one audit event, in one transaction.
	// Errors: ENOTFOUND, whatever fn returns.
	UpdateLoan(ctx context.Context, id int64, actor Actor, fn UpdateFunc) (*LoanRequest, error)
	// ListLoans errors: EINVALID (a cursor it did not give).
	ListLoans(ctx context.Context, f Filter) (Page, error)
	AuditTrail(ctx context.Context, requestID int64) ([]AuditEvent, error)
	// Stats and DailyCounts read the counts kept with every change.
	Stats(ctx context.Context) (Stats, error)
	DailyCounts(ctx context.Context, from, to time.Time) ([]DayCount, error)
	QueueDepth(ctx context.Context) (QueueDepth, error)
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
	// Views, if set, records who was shown personal data (EventRequestViewed,
	// EventRequestsListed). A read it cannot record shows nothing
	// (EUNAVAILABLE): no one sees an applicant unaccounted for.
	Views SecurityLog
	// Erasure erases applicants (EraseApplicant).
	Erasure ErasureStore
}

// ErasureStore erases an applicant's personal data.
type ErasureStore interface {
	// EraseApplicant blanks the name, email, document number and
	// fingerprint of every request filed with the document number of
	// request id, and the comments of their audit trails (an admin may have
	// named the applicant there); it appends an ActionErase audit event to
	// each and e to the security log, all in one transaction, and returns
	// how many requests it erased. documentNumber must be request id's (the
	// admin's confirmation). Errors: ENOTFOUND, ECONFLICT (request id is
	// erased already), EINVALID (another document number).
	EraseApplicant(ctx context.Context, id int64, documentNumber string, actor Actor, e SecurityEvent) (int, error)
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

// Claim is the outcome of LoanStore.ClaimFiling.
type Claim struct {
	Filed  *LoanRequest // the request filed under the key: nothing to do but replay it
	Won    bool         // this call files; the others wait for its answer
	Holder string       // the fingerprint the winner files, when known
}

// SaveTimeout bounds saving a filing or a decision once the providers have
// answered. The save goes on if the caller hangs up (their retry finds
// it), but it never waits on the database longer than this: a held lock
// or a stuck server costs a 503 to retry, not a request held forever.
const SaveTimeout = 5 * time.Second

// claimPoll is how often a call that lost the claim looks for the winner's
// answer.
const claimPoll = 50 * time.Millisecond

// claimTTL is how long a claim holds its key: as long as its winner may
// take, asking the providers and then saving.
func (d *Desk) claimTTL() time.Duration { return d.DecisionTimeout + SaveTimeout + time.Second }

// Submit files an application under an idempotency key. It claims the key,
// asks the providers (at most DecisionTimeout), then saves the request in
// one transaction: decided, or undecided with a job for the worker. One
// call per key asks the providers; concurrent repeats wait for its answer.
// The key is the row's unique key too: a repeated key gets the first
// answer, and no key ever makes two requests, whatever else fails.
//
// Errors: EINVALID (bad fields or key), ECONFLICT (key reused with other
// content), EUNAVAILABLE (the database cannot answer, or another call with
// the key is still at work; retry with the same key), EINTERNAL.
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
	prev, err := d.claim(ctx, key, fp)
	if err != nil || prev != nil {
		if err != nil {
			return Submitted{}, err
		}
		return replay(prev, fp)
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
			d.release(ctx, key)
			return Submitted{}, err
		}
	} else {
		d.Log.InfoContext(ctx, "providers did not answer in time; the worker will decide", "err", err)
	}
	// Saved even if the applicant hung up meanwhile (their retry with the
	// same key finds it), within SaveTimeout.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), SaveTimeout)
	defer cancel()
	stored, existed, err := d.Store.CreateLoan(sctx, l)
	if err != nil {
		d.release(ctx, key)
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

// release gives up this call's claim after a failure, so the retry need
// not wait for the claim to expire: on a context of its own (the save's may
// be spent, the caller gone), briefly.
func (d *Desk) release(ctx context.Context, key string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = d.Store.ReleaseFiling(rctx, key)
}

// claim wins key for this call (nil, nil), or returns the request another
// call filed under it, waiting for that call's answer while it works.
func (d *Desk) claim(ctx context.Context, key, fp string) (*LoanRequest, error) {
	// A loser waits as long as a winner may take to answer; past that the
	// winner is presumed gone, and a retry after its claim expires files.
	giveUp := time.Now().Add(d.DecisionTimeout + SaveTimeout)
	for {
		c, err := d.Store.ClaimFiling(ctx, key, fp, d.claimTTL())
		switch {
		case err != nil:
			return nil, err
		case c.Filed != nil:
			return c.Filed, nil
		case c.Won:
			return nil, nil
		case c.Holder != "" && c.Holder != fp:
			return nil, Errorf(ECONFLICT, "this Idempotency-Key was already used for a different request")
		case time.Now().After(giveUp):
			return nil, &Error{Code: EUNAVAILABLE, Message: "a filing with this Idempotency-Key is still in progress; retry shortly", RetryAfter: 2}
		}
		t := time.NewTimer(claimPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
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
	// The decision is saved even if the worker is stopping meanwhile,
	// within SaveTimeout: a job never outlives its rescue time (see
	// internal/worker), so it never runs twice at once.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), SaveTimeout)
	defer cancel()
	_, err = d.Store.UpdateLoan(sctx, id, System, func(l *LoanRequest) (string, string, error) {
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

// MinQuery is the shortest word a search matches: shorter words ("de",
// "la") are in most names and say little.
const MinQuery = 3

// MinDigits is the shortest part of a document number searched: three
// digits are in 60,000 of 10 M documents, four in 5,000. The database
// keeps each number's suffixes of this many digits or more (migration
// 00005) and keys them by their first this many (00007): changing it
// needs a migration too.
const MinDigits = 4

// MaxSearchWords bounds the words of a search (each is one index range).
const MaxSearchWords = 6

// Search is a search text read as the kind of thing an admin types.
type Search struct {
	Digits string   // a document number or part of it ("30.123" is "30123")
	Email  string   // an email or its start, lower case ("ana.perez@gm")
	Words  []string // else whole words of the name or email, lower case
}

// ParseSearch reads a search: digits (dots and spaces allowed) are part of
// a document number; a text with "@" after its first character is the
// start of an email; anything else is words, split at every character
// that is not a letter or digit, each of MinQuery runes or more.
func ParseSearch(q string) Search {
	q = strings.TrimSpace(q)
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == '.' || r == ' ' || r == '-':
			return -1
		}
		return utf8.RuneError
	}, q)
	switch {
	case digits != "" && !strings.ContainsRune(digits, utf8.RuneError):
		return Search{Digits: digits}
	case strings.IndexByte(q, '@') > 0:
		return Search{Email: strings.ToLower(q)}
	}
	var s Search
	// A combining mark (the accent of a decomposed "á", as some keyboards
	// send it) belongs to its word: the database folds it away.
	inWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) }
	for _, w := range strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !inWord(r) }) {
		if utf8.RuneCountInString(w) >= MinQuery && !slices.Contains(s.Words, w) {
			s.Words = append(s.Words, w)
		}
	}
	return s
}

// MaxQueryLength bounds a search's text, in characters.
const MaxQueryLength = 200

// DefaultPageSize is a page of the admin list when none is asked for.
const DefaultPageSize = 20

// ListQuery is the admin list's parameters as they were sent (a query
// string's values); Filter reads and checks them.
type ListQuery struct {
	Status, From, To, Q, Limit, Cursor, Deleted string
}

// Filter reads q into a Filter, naming every problem at once (EINVALID,
// one message per field). From and To are dates (YYYY-MM-DD; To includes
// that whole day) or RFC 3339 times.
func (q ListQuery) Filter() (Filter, error) {
	problems := map[string]string{}
	f := Filter{Status: Status(q.Status), Query: strings.TrimSpace(q.Q), Limit: DefaultPageSize}
	if f.Status != "" && !f.Status.Valid() {
		problems["status"] = fmt.Sprintf("must be %s, %s or %s", StatusInReview, StatusApproved, StatusRejected)
	}
	f.From = parseListTime("from", q.From, false, problems)
	f.To = parseListTime("to", q.To, true, problems)
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) && problems["from"] == "" && problems["to"] == "" {
		problems["to"] = "must be after from"
	}
	if msg := searchProblem(f.Query); msg != "" {
		problems["q"] = msg
	}
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > MaxPageSize {
			problems["limit"] = fmt.Sprintf("must be a whole number from 1 to %d", MaxPageSize)
		}
		f.Limit = n
	}
	if q.Cursor != "" {
		c, err := ParseCursor(q.Cursor)
		if err != nil {
			problems["cursor"] = "is not a cursor this list gave"
		}
		f.After = &c
	}
	if q.Deleted != "" {
		b, err := strconv.ParseBool(q.Deleted)
		if err != nil {
			problems["deleted"] = "must be true or false"
		}
		f.Deleted = b
	}
	if len(problems) > 0 {
		return Filter{}, &Error{Code: EINVALID, Message: "the list filter has invalid fields", Fields: problems}
	}
	return f, nil
}

func parseListTime(name, v string, endOfDay bool, problems map[string]string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, v); err != nil {
			problems[name] = "must be a date (YYYY-MM-DD) or an RFC 3339 time"
			return time.Time{}
		}
		if endOfDay {
			t = t.AddDate(0, 0, 1) // "to" a date includes that whole day
		}
	}
	if t.Year() < 1 || t.Year() > 9999 {
		problems[name] = "must be a date from year 1 to 9999"
	}
	return t
}

// searchProblem says what is wrong with a (trimmed) search text, or "".
func searchProblem(q string) string {
	search := ParseSearch(q)
	switch {
	case q == "":
	case utf8.RuneCountInString(q) > MaxQueryLength:
		return fmt.Sprintf("must be at most %d characters", MaxQueryLength)
	case len(search.Words) > MaxSearchWords:
		return fmt.Sprintf("must have at most %d words", MaxSearchWords)
	case search.Digits != "" && len(search.Digits) < MinDigits:
		return fmt.Sprintf("must have at least %d digits of a document number", MinDigits)
	case utf8.RuneCountInString(search.Digits+search.Email) < MinQuery && len(search.Words) == 0:
		return fmt.Sprintf("must have a word of at least %d letters, %d digits of a document, or an email", MinQuery, MinDigits)
	}
	return ""
}

// The kinds of search the audit names (never the text searched).
const (
	SearchDNI   = "dni"
	SearchEmail = "email"
	SearchName  = "name" // words of a name or an email
)

// Kind is the search's kind, or "" for no search.
func (s Search) Kind() string {
	switch {
	case s.Digits != "":
		return SearchDNI
	case s.Email != "":
		return SearchEmail
	case len(s.Words) > 0:
		return SearchName
	}
	return ""
}

// List returns a page of requests for admins, recorded as seen by actor.
// Errors: EINVALID (every problem of q at once), EUNAVAILABLE.
func (d *Desk) List(ctx context.Context, actor Actor, q ListQuery) (Page, error) {
	f, err := q.Filter()
	if err != nil {
		return Page{}, err
	}
	page, err := d.Store.ListLoans(ctx, f)
	if err != nil {
		return Page{}, err
	}
	if err := d.recordView(ctx, SecurityEvent{Kind: EventRequestsListed, Detail: ParseSearch(f.Query).Kind()}, actor); err != nil {
		return Page{}, err
	}
	return page, nil
}

// recordView appends a view to Views, naming actor.
func (d *Desk) recordView(ctx context.Context, e SecurityEvent, actor Actor) error {
	if d.Views == nil {
		return nil
	}
	e.AdminID = actor.AdminID
	return d.Views.RecordSecurityEvent(ctx, e)
}

// ActivityDays is how far back the dashboard's chart looks.
const ActivityDays = 30

// Activity is the last ActivityDays days of filings by outcome, oldest
// first with every day present, and the queue now.
func (d *Desk) Activity(ctx context.Context) (Activity, error) {
	today := d.now().UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(ActivityDays - 1))
	counts, err := d.Store.DailyCounts(ctx, from, today.AddDate(0, 0, 1))
	if err != nil {
		return Activity{}, err
	}
	byDay := map[time.Time]DayCount{}
	for _, c := range counts {
		byDay[c.Day.UTC().Truncate(24*time.Hour)] = c
	}
	a := Activity{Days: make([]DayCount, 0, ActivityDays)}
	for day := from; !day.After(today); day = day.AddDate(0, 0, 1) {
		c := byDay[day]
		c.Day = day
		a.Days = append(a.Days, c)
	}
	a.Queue, err = d.Store.QueueDepth(ctx)
	return a, err
}

// Detail returns a request and its audit trail, recorded as seen by
// actor. Errors: ENOTFOUND, EUNAVAILABLE.
func (d *Desk) Detail(ctx context.Context, actor Actor, id int64) (*LoanRequest, []AuditEvent, error) {
	l, err := d.Store.LoanByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	events, err := d.Store.AuditTrail(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := d.recordView(ctx, SecurityEvent{Kind: EventRequestViewed, RequestID: &id}, actor); err != nil {
		return nil, nil, err
	}
	return l, events, nil
}

// EraseApplicant erases, at a data subject's request, the personal data of
// the applicant of request id from every request they filed (found by
// document number), keeping the requests, their decisions and the counts.
// The admin confirms by typing the applicant's document number, which must
// be request id's (dots and spaces allowed). Errors: EINVALID, ENOTFOUND,
// ECONFLICT (erased already), EUNAVAILABLE.
func (d *Desk) EraseApplicant(ctx context.Context, actor Actor, id int64, documentNumber string) (Erased, error) {
	doc := ParseSearch(documentNumber).Digits
	if len(doc) < 7 || len(doc) > 8 {
		return Erased{}, &Error{Code: EINVALID, Message: "type the applicant's document number (7 or 8 digits) to confirm",
			Fields: map[string]string{"document_number": "must have 7 or 8 digits"}}
	}
	n, err := d.Erasure.EraseApplicant(ctx, id, doc, actor, SecurityEvent{Kind: EventApplicantErased, AdminID: actor.AdminID, RequestID: &id})
	if err != nil {
		return Erased{}, err
	}
	// Erased and committed: a failure to read it back is the caller's to
	// retry as a read (the erasure answers ECONFLICT from now on).
	l, err := d.Store.LoanByID(ctx, id)
	return Erased{Requests: n, Request: l}, err
}

// Erased is the outcome of EraseApplicant: how many requests lost their
// applicant's data, and the one it was asked from, as it is now.
type Erased struct {
	Requests int
	Request  *LoanRequest
}

// Stats counts requests by status.
func (d *Desk) Stats(ctx context.Context) (Stats, error) { return d.Store.Stats(ctx) }
