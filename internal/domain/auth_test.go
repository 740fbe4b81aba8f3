package domain_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

// limiterMock counts events per key against r.Burst (no refill), and
// reports the calls it saw.
type limiterMock struct {
	mu     sync.Mutex
	used   map[string]int
	calls  []string
	err    error
	wait   time.Duration // the retry-after it reports when refusing
	resets []string
	// refill, if set, gives a refused key one event back once its wait
	// has passed (as a real limiter's budget refills).
	refill bool
	next   map[string]time.Time
}

var _ domain.Limiter = &limiterMock{}

func (m *limiterMock) Allow(_ context.Context, key string, r domain.Rate) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, key)
	if m.err != nil {
		return false, 0, m.err
	}
	if m.used == nil {
		m.used = map[string]int{}
	}
	if m.refill && m.used[key] >= r.Burst && !m.next[key].IsZero() && !time.Now().Before(m.next[key]) {
		m.used[key]--
		delete(m.next, key)
	}
	if m.used[key] >= r.Burst {
		if m.refill && m.next[key].IsZero() {
			if m.next == nil {
				m.next = map[string]time.Time{}
			}
			m.next[key] = time.Now().Add(m.wait)
		}
		return false, m.wait, nil
	}
	m.used[key]++
	return true, 0, nil
}

func (m *limiterMock) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resets = append(m.resets, key)
	delete(m.used, key)
	return nil
}

type adminsMock struct {
	byEmail func(ctx context.Context, email string) (*domain.Admin, error)
	byID    func(ctx context.Context, id int64) (*domain.Admin, error)
	ensure  func(ctx context.Context, email, hash string) (bool, error)
	setPass func(ctx context.Context, id int64, hash string, epoch int64, e domain.SecurityEvent) (int64, error)
}

func (m adminsMock) SetPassword(ctx context.Context, id int64, hash string, epoch int64, e domain.SecurityEvent) (int64, error) {
	return m.setPass(ctx, id, hash, epoch, e)
}

func (m adminsMock) AdminByID(ctx context.Context, id int64) (*domain.Admin, error) {
	return m.byID(ctx, id)
}

func (m adminsMock) AdminByEmail(ctx context.Context, email string) (*domain.Admin, error) {
	return m.byEmail(ctx, email)
}
func (m adminsMock) EnsureAdmin(ctx context.Context, email, hash string) (bool, error) {
	return m.ensure(ctx, email, hash)
}

type sessionsMock struct {
	create func(ctx context.Context, s domain.Session, ttl time.Duration) (string, error)
	get    func(ctx context.Context, token string) (domain.Session, error)
	del    func(ctx context.Context, token string) error
}

func (m sessionsMock) CreateSession(ctx context.Context, s domain.Session, ttl time.Duration) (string, error) {
	return m.create(ctx, s, ttl)
}
func (m sessionsMock) Session(ctx context.Context, token string) (domain.Session, error) {
	return m.get(ctx, token)
}
func (m sessionsMock) DeleteSession(ctx context.Context, token string) error {
	return m.del(ctx, token)
}

var (
	_ domain.AdminStore   = adminsMock{}
	_ domain.SessionStore = sessionsMock{}
)

var adminHash = domain.HashPassword("right-password")

func newAuth(l *limiterMock) (*domain.Auth, *int) {
	lookups := 0
	var mu sync.Mutex
	return &domain.Auth{
		Admins: adminsMock{byEmail: func(_ context.Context, email string) (*domain.Admin, error) {
			mu.Lock()
			lookups++
			mu.Unlock()
			if email != "admin@example.com" {
				return nil, domain.Errorf(domain.ENOTFOUND, "no admin")
			}
			return &domain.Admin{ID: 1, Email: email, PasswordHash: adminHash}, nil
		}},
		Sessions: sessionsMock{create: func(context.Context, domain.Session, time.Duration) (string, error) { return "token-1", nil }},
		Limiter:  l, SessionTTL: time.Hour, Limits: domain.DefaultLoginLimits,
		DeviceKey: []byte("test-device-key-of-at-least-32-bytes"),
	}, &lookups
}

func TestLoginOpensASessionAndForgetsTheAddressesFailures(t *testing.T) {
	l := &limiterMock{}
	a, _ := newAuth(l)
	token, s, err := login(a, " Admin@Example.com ", "right-password", "203.0.113.7")
	if err != nil || token != "token-1" || s.Email != "admin@example.com" || s.CSRFToken == "" {
		t.Fatalf("Login = %q %+v %v", token, s, err)
	}
	if len(l.resets) != 1 || l.resets[0] != "login:pair:203.0.113.7 admin@example.com" {
		t.Fatalf("resets %v, want the account-and-address budget only", l.resets)
	}
	if _, _, err := login(a, "admin@example.com", "wrong", "203.0.113.7"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := login(a, "nobody@example.com", "wrong", "203.0.113.7"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("unknown account: %v", err)
	}
	if _, _, err := login(a, "", "", "203.0.113.7"); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("empty: %v", err)
	}
}

func TestLoginCountsBeforeItChecksThePassword(t *testing.T) {
	l := &limiterMock{wait: 90 * time.Second}
	a, lookups := newAuth(l)
	for range 5 {
		_, _, _ = login(a, "admin@example.com", "guess", "203.0.113.7")
	}
	*lookups = 0
	_, _, err := login(a, "admin@example.com", "right-password", "203.0.113.7")
	e, _ := domain.AsError(err)
	if e == nil || e.Code != domain.ERATELIMITED || e.RetryAfter != 90 {
		t.Fatalf("sixth attempt from the address: %v, want ERATELIMITED retry 90 s", err)
	}
	if *lookups != 0 {
		t.Fatal("a refused attempt still looked the account up (and hashed)")
	}
	// Another address still gets in: the guesses did not lock the account.
	if _, _, err := login(a, "admin@example.com", "right-password", "198.51.100.4"); err != nil {
		t.Fatalf("the admin from another address: %v", err)
	}
}

func TestLoginLimitsEachAddressAcrossAccounts(t *testing.T) {
	l := &limiterMock{wait: time.Minute}
	a, _ := newAuth(l)
	for i := range 20 {
		_, _, _ = login(a, "user"+string(rune('a'+i))+"@example.com", "guess", "203.0.113.7")
	}
	if _, _, err := login(a, "other@example.com", "guess", "203.0.113.7"); domain.ErrorCode(err) != domain.ERATELIMITED {
		t.Fatalf("21st account from one address: %v, want ERATELIMITED", err)
	}
}

// An account's guesses from unknown devices, from any number of addresses,
// stop at its cap; a browser the admin logged in on before still gets in.
func TestAnAccountsGuessesAreCappedButItsDevicesGetIn(t *testing.T) {
	l := &limiterMock{wait: time.Hour}
	a, _ := newAuth(l)
	var refused []string
	a.Refused = func(limit string) { refused = append(refused, limit) }
	ctx := context.Background()
	home, err := a.Login(ctx, domain.LoginAttempt{Email: "admin@example.com", Password: "right-password", Client: "198.51.100.4"})
	if err != nil || home.Device == "" {
		t.Fatalf("first login: %+v %v, want a device cookie", home, err)
	}
	// Guesses from 30 addresses: the account's budget (its burst here; the
	// mock never refills) reaches a password check, the rest are refused.
	checked := 0
	for i := range 30 {
		_, _, err := login(a, "admin@example.com", "guess", "203.0.113."+strconv.Itoa(i))
		if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
			checked++
		}
	}
	if want := domain.DefaultLoginLimits.PerAccount.Burst - 1; checked != want {
		t.Fatalf("%d guesses checked, want the account's budget left after the admin's login (%d)", checked, want)
	}
	_, _, err = login(a, "admin@example.com", "right-password", "192.0.2.8")
	if e, _ := domain.AsError(err); e == nil || e.Code != domain.ERATELIMITED || e.RetryAfter != 3600 {
		t.Fatalf("the right password from an unknown device while capped: %v, want 429 retry 3600 s", err)
	}
	if len(refused) == 0 || refused[len(refused)-1] != domain.LimitAccount {
		t.Fatalf("refusals reported %v, want the account's", refused)
	}
	// The admin's own browser, from yet another address.
	again, err := a.Login(ctx, domain.LoginAttempt{Email: "admin@example.com", Password: "right-password", Client: "192.0.2.9", Device: home.Device})
	if err != nil || again.Device == "" {
		t.Fatalf("the admin's browser while the account is capped: %+v %v", again, err)
	}
	// A device cookie names one account and cannot be forged or altered.
	flip := map[byte]string{'A': "B"}[home.Device[30]]
	if flip == "" {
		flip = "A"
	}
	other := home.Device[:30] + flip + home.Device[31:] // a byte of the MAC
	for _, c := range []struct{ email, device string }{{"other@example.com", home.Device}, {"admin@example.com", other}, {"admin@example.com", "x"}} {
		_, err := a.Login(ctx, domain.LoginAttempt{Email: c.email, Password: "guess", Client: "192.0.2.10", Device: c.device})
		if c.email == "admin@example.com" && domain.ErrorCode(err) != domain.ERATELIMITED {
			t.Fatalf("device %q for %s: %v, want the capped account's 429", c.device, c.email, err)
		}
	}
	if l.used["login:acct:other@example.com"] != 1 {
		t.Fatal("another account's login with the admin's device cookie did not count as an unknown device")
	}
}

// A known device has a budget of its own, strict: its guesses do not wait.
func TestAKnownDeviceGuessingIsRefused(t *testing.T) {
	l := &limiterMock{wait: time.Hour}
	a, _ := newAuth(l)
	ctx := context.Background()
	home, err := a.Login(ctx, domain.LoginAttempt{Email: "admin@example.com", Password: "right-password", Client: "198.51.100.4"})
	if err != nil {
		t.Fatal(err)
	}
	burst := domain.DefaultLoginLimits.PerDevice.Burst
	for i := range burst + 1 {
		_, err := a.Login(ctx, domain.LoginAttempt{Email: "admin@example.com", Password: "guess", Client: "192.0.2." + strconv.Itoa(i), Device: home.Device})
		want := domain.EUNAUTHORIZED
		if i == burst {
			want = domain.ERATELIMITED
		}
		if domain.ErrorCode(err) != want {
			t.Fatalf("guess %d from the known device: %v, want %s", i+1, err, want)
		}
	}
	if l.used["login:acct:admin@example.com"] != 1 {
		t.Fatalf("the known device's guesses spent the account's budget (%d)", l.used["login:acct:admin@example.com"])
	}
}

// A spent account budget whose next turn is near waits for it.
func TestAnAttemptWaitsForItsAccountsNextTurn(t *testing.T) {
	l := &limiterMock{wait: 20 * time.Millisecond, refill: true}
	a, _ := newAuth(l)
	a.Limits.PerAccount.Burst = 1
	if _, _, err := login(a, "admin@example.com", "guess", "203.0.113.1"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatal(err)
	}
	if _, _, err := login(a, "admin@example.com", "right-password", "203.0.113.2"); err != nil {
		t.Fatalf("the next turn was 20 ms away: %v", err)
	}
}

// login is a.Login from a browser with no device cookie.
func login(a *domain.Auth, email, password, client string) (string, domain.Session, error) {
	in, err := a.Login(context.Background(), domain.LoginAttempt{Email: email, Password: password, Client: client})
	return in.Token, in.Session, err
}

func TestLoginFailsClosedWithoutItsLimiter(t *testing.T) {
	a, lookups := newAuth(&limiterMock{err: domain.Errorf(domain.EUNAVAILABLE, "valkey down")})
	if _, _, err := login(a, "admin@example.com", "right-password", "203.0.113.7"); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE", err)
	}
	if *lookups != 0 {
		t.Fatal("checked a password without counting it")
	}
}

func TestPasswordChecksAreBounded(t *testing.T) {
	a, _ := newAuth(&limiterMock{})
	a.Limits.PerAccountAndAddress.Burst, a.Limits.PerAddress.Burst, a.Limits.PerAccount.Burst = 1000, 1000, 1000
	a.HashSlots, a.HashWait = 1, time.Millisecond
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[domain.Code]int{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := login(a, "admin@example.com", "guess", "203.0.113.7")
			mu.Lock()
			codes[domain.ErrorCode(err)]++
			mu.Unlock()
			if e, _ := domain.AsError(err); e != nil && e.Code == domain.EUNAVAILABLE && e.RetryAfter != 1 {
				t.Errorf("busy without Retry-After: %+v", e)
			}
		}()
	}
	wg.Wait()
	if codes[domain.EUNAVAILABLE] == 0 || codes[domain.EUNAUTHORIZED] == 0 {
		t.Fatalf("outcomes %v: with one slot and no wait some must be told to retry, some checked", codes)
	}
}

func TestSessionsAndCSRF(t *testing.T) {
	deleted := ""
	a := &domain.Auth{Sessions: sessionsMock{
		get: func(_ context.Context, token string) (domain.Session, error) {
			return domain.Session{Email: "a@x.com", CSRFToken: "c"}, nil
		},
		del: func(_ context.Context, token string) error { deleted = token; return nil },
	}, Admins: adminsMock{ensure: func(_ context.Context, email, hash string) (bool, error) {
		return email == "boss@example.com" && domain.VerifyPassword(hash, "pw-pw-pw-pw-pw"), nil
	}, byID: func(_ context.Context, id int64) (*domain.Admin, error) { return &domain.Admin{ID: id}, nil }}}
	if _, err := a.Authenticate(context.Background(), ""); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("no token: %v", err)
	}
	s, err := a.Authenticate(context.Background(), "tok")
	if err != nil || s.Actor().Name != "a@x.com" {
		t.Fatalf("Authenticate = %+v %v", s, err)
	}
	if err := domain.CheckCSRF(s, "c"); err != nil {
		t.Fatal(err)
	}
	if err := domain.CheckCSRF(s, "forged"); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Fatalf("forged token: %v", err)
	}
	if err := a.Logout(context.Background(), "tok"); err != nil || deleted != "tok" {
		t.Fatalf("Logout: %v, deleted %q", err, deleted)
	}
	if ok, err := a.Bootstrap(context.Background(), " Boss@Example.com ", "pw-pw-pw-pw-pw"); !ok || err != nil {
		t.Fatalf("Bootstrap did not store a normalized email and a hash of the password: %v %v", ok, err)
	}
}

// An address past its budget is refused before anything is kept for the
// email it sends: 1,000 logins with new emails touch one pair key each only
// while the address budget lasts, so what the store holds for one address
// cannot grow with what it sends.
func TestAnAddressPastItsBudgetSpendsNothingPerEmail(t *testing.T) {
	l := &limiterMock{wait: time.Minute}
	a, _ := newAuth(l)
	for i := range 1000 {
		_, _, _ = login(a, "guess"+strconv.Itoa(i)+"@example.com", "x", "203.0.113.7")
	}
	pairs := map[string]bool{}
	for _, k := range l.calls {
		if strings.HasPrefix(k, "login:pair:") {
			pairs[k] = true
		}
	}
	if burst := domain.DefaultLoginLimits.PerAddress.Burst; len(pairs) != burst {
		t.Fatalf("%d pair keys spent for 1,000 emails from one address, want the address's burst (%d)", len(pairs), burst)
	}
}

// A disabled (or removed) admin's session ends at its next request, and
// their right password opens none; a database that cannot answer is a 503,
// not a logout.
func TestADisabledAdminIsOutAtOnce(t *testing.T) {
	disabled := time.Now()
	accounts := map[int64]*domain.Admin{
		1: {ID: 1, Email: "on@example.com", PasswordHash: adminHash},
		2: {ID: 2, Email: "off@example.com", PasswordHash: adminHash, DisabledAt: &disabled},
	}
	var deleted []string
	var lookupErr error
	a := &domain.Auth{
		Admins: adminsMock{
			byID: func(_ context.Context, id int64) (*domain.Admin, error) {
				if lookupErr != nil {
					return nil, lookupErr
				}
				if a, ok := accounts[id]; ok {
					return a, nil
				}
				return nil, domain.Errorf(domain.ENOTFOUND, "admin not found")
			},
			byEmail: func(_ context.Context, email string) (*domain.Admin, error) {
				for _, a := range accounts {
					if a.Email == email {
						return a, nil
					}
				}
				return nil, domain.Errorf(domain.ENOTFOUND, "admin not found")
			},
		},
		Sessions: sessionsMock{
			get: func(_ context.Context, token string) (domain.Session, error) {
				id, _ := strconv.ParseInt(token, 10, 64)
				return domain.Session{AdminID: id}, nil
			},
			del:    func(_ context.Context, token string) error { deleted = append(deleted, token); return nil },
			create: func(context.Context, domain.Session, time.Duration) (string, error) { return "t", nil },
		},
		Limiter: &limiterMock{}, Limits: domain.DefaultLoginLimits,
	}
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, "1"); err != nil {
		t.Fatalf("an enabled admin: %v", err)
	}
	for _, token := range []string{"2", "3"} {
		if _, err := a.Authenticate(ctx, token); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("session of admin %s: %v, want EUNAUTHORIZED", token, err)
		}
	}
	if !slices.Equal(deleted, []string{"2", "3"}) {
		t.Fatalf("sessions deleted %v, want the disabled and the removed admin's", deleted)
	}
	if _, _, err := login(a, "off@example.com", "right-password", "203.0.113.1"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("a disabled admin's right password: %v", err)
	}
	lookupErr = domain.Errorf(domain.EUNAVAILABLE, "database down")
	if _, err := a.Authenticate(ctx, "1"); domain.ErrorCode(err) != domain.EUNAVAILABLE || len(deleted) != 2 {
		t.Fatalf("database down: %v (deleted %v), want EUNAVAILABLE and the session kept", err, deleted)
	}
}

type accountsMock struct {
	add   func(ctx context.Context, email, hash string) (*domain.Admin, error)
	set   func(ctx context.Context, email string, disabled bool) (*domain.Admin, error)
	reset func(ctx context.Context, email string) (*domain.Admin, error)
}

func (m accountsMock) ResetMFA(ctx context.Context, email string) (*domain.Admin, error) {
	return m.reset(ctx, email)
}

func (m accountsMock) AddAdmin(ctx context.Context, email, hash string) (*domain.Admin, error) {
	return m.add(ctx, email, hash)
}
func (m accountsMock) SetAdminDisabled(ctx context.Context, email string, disabled bool) (*domain.Admin, error) {
	return m.set(ctx, email, disabled)
}
func (m accountsMock) ListAdmins(context.Context) ([]domain.Admin, error) { return nil, nil }

func TestAccountsTakeOneAddressAndAStrongPassword(t *testing.T) {
	var stored []string
	acc := domain.Accounts{Store: accountsMock{
		add: func(_ context.Context, email, hash string) (*domain.Admin, error) {
			stored = append(stored, email+" "+hash)
			return &domain.Admin{Email: email, PasswordHash: hash}, nil
		},
		set: func(_ context.Context, email string, disabled bool) (*domain.Admin, error) {
			return &domain.Admin{Email: email}, nil
		},
	}}
	ctx := context.Background()
	a, pw, err := acc.Add(ctx, " Ana@Example.COM ", "")
	if err != nil || a.Email != "ana@example.com" || len(pw) < 20 || !domain.VerifyPassword(a.PasswordHash, pw) || strings.Contains(stored[0], pw) {
		t.Fatalf("Add with a made password = %+v %q %v", a, pw, err)
	}
	if _, pw2, _ := acc.Add(ctx, "bo@example.com", ""); pw2 == pw {
		t.Fatal("two made passwords are the same")
	}
	for _, c := range []struct{ email, password, field string }{
		{"not-an-email", "", "email"}, {"Ana <ana@example.com>", "", "email"}, {"a@example.com, b@example.com", "", "email"},
		{strings.Repeat("a", 250) + "@example.com", "", "email"}, {"ana@example.com", "short-pass", "password"},
		{"ana@example.com", strings.Repeat("x", 1025), "password"},
	} {
		_, _, err := acc.Add(ctx, c.email, c.password)
		if e, _ := domain.AsError(err); e == nil || e.Code != domain.EINVALID || e.Fields[c.field] == "" {
			t.Errorf("Add(%q, %d chars): %v, want EINVALID on %s", c.email, len(c.password), err, c.field)
		}
	}
	if len(stored) != 2 {
		t.Fatalf("stored %d accounts, want the 2 valid ones", len(stored))
	}
	if _, err := acc.Disable(ctx, "nope"); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("Disable of a non-address: %v", err)
	}
}

type logMock struct {
	mu     sync.Mutex
	events []domain.SecurityEvent
	err    error
}

func (m *logMock) RecordSecurityEvent(_ context.Context, e domain.SecurityEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.events = append(m.events, e)
	return nil
}

// Every login that passed the limits leaves a line naming the admin, or a
// pseudonym of an email that is no account's, and a pseudonym of the
// address: never the email or the address themselves.
func TestLoginsAreLoggedUnderPseudonyms(t *testing.T) {
	log := &logMock{}
	a, _ := newAuth(&limiterMock{})
	deleted := ""
	a.Sessions = sessionsMock{
		create: func(context.Context, domain.Session, time.Duration) (string, error) { return "token-1", nil },
		del:    func(_ context.Context, token string) error { deleted = token; return nil },
	}
	a.Log, a.PseudonymKey, a.FailuresLogged = log, []byte("pseudonym-key"), domain.Rate{Events: 1, Per: time.Hour, Burst: 1}
	unlogged := 0
	a.Unlogged = func() { unlogged++ }
	if _, _, err := login(a, "admin@example.com", "right-password", "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	_, _, _ = login(a, "admin@example.com", "guess", "203.0.113.8")
	_, _, _ = login(a, "nobody@example.com", "guess", "203.0.113.8")
	client := domain.Pseudonym([]byte("pseudonym-key"), "client", "203.0.113.8")
	want := []domain.SecurityEvent{
		{Kind: domain.EventLoginOK, Client: domain.Pseudonym([]byte("pseudonym-key"), "client", "203.0.113.7")},
		{Kind: domain.EventLoginFailed, Client: client},
		{Kind: domain.EventLoginFailed, Client: client, Subject: domain.Pseudonym([]byte("pseudonym-key"), "email", "nobody@example.com")},
	}
	if len(log.events) != len(want) {
		t.Fatalf("logged %+v, want %d events", log.events, len(want))
	}
	for i, e := range log.events {
		if e.Kind != want[i].Kind || e.Client != want[i].Client || e.Subject != want[i].Subject || (e.AdminID != nil) != (i < 2) {
			t.Errorf("event %d = %+v, want %+v (admin named: %v)", i, e, want[i], i < 2)
		}
		if strings.Contains(e.Subject+e.Client, "example.com") || strings.Contains(e.Subject+e.Client, "203.0.113") {
			t.Errorf("event %d names an email or an address: %+v", i, e)
		}
	}
	// Past FailuresLogged, failures at emails that are no account's are
	// counted, not itemized; those at an admin's account still are.
	_, _, err := login(a, "nobody@example.com", "guess", "203.0.113.9")
	if domain.ErrorCode(err) != domain.EUNAUTHORIZED || len(log.events) != 3 || unlogged != 1 {
		t.Fatalf("a failure past the log's bound: %v, %d events, %d unlogged", err, len(log.events), unlogged)
	}
	if _, _, err := login(a, "admin@example.com", "guess", "203.0.113.9"); domain.ErrorCode(err) != domain.EUNAUTHORIZED || len(log.events) != 4 || unlogged != 1 {
		t.Fatalf("an admin's failure past the log's bound: %v, %d events, %d unlogged", err, len(log.events), unlogged)
	}
	// A login whose success cannot be recorded opens no session.
	log.err = domain.Errorf(domain.EUNAVAILABLE, "database down")
	if _, _, err := login(a, "admin@example.com", "right-password", "203.0.113.7"); domain.ErrorCode(err) != domain.EUNAVAILABLE || deleted != "token-1" {
		t.Fatalf("log down: %v, session deleted %q; want EUNAVAILABLE and the session gone", err, deleted)
	}
}

// A device cookie is honoured DeviceMaxAge after the login that issued it,
// not after: an old copy counts as an unknown browser.
func TestAnOldDeviceCookieIsUnknown(t *testing.T) {
	l := &limiterMock{wait: time.Hour}
	a, _ := newAuth(l)
	ctx := context.Background()
	issued := time.Now().Add(-domain.DeviceMaxAge - 48*time.Hour)
	a.Clock = func() time.Time { return issued }
	old, err := a.Login(ctx, domain.LoginAttempt{Email: "admin@example.com", Password: "right-password", Client: "198.51.100.4"})
	if err != nil {
		t.Fatal(err)
	}
	a.Clock = func() time.Time { return issued.Add(domain.DeviceMaxAge - 25*time.Hour) } // the day is whole
	if _, err := a.Login(ctx, domain.LoginAttempt{Email: "admin@example.com", Password: "guess", Client: "198.51.100.5", Device: old.Device}); domain.ErrorCode(err) != domain.EUNAUTHORIZED || l.used["login:acct:admin@example.com"] != 1 {
		t.Fatalf("within its age: %v, account lane used %d times, want the device's lane", err, l.used["login:acct:admin@example.com"])
	}
	a.Clock = nil
	if _, err := a.Login(ctx, domain.LoginAttempt{Email: "admin@example.com", Password: "guess", Client: "198.51.100.6", Device: old.Device}); domain.ErrorCode(err) != domain.EUNAUTHORIZED || l.used["login:acct:admin@example.com"] != 2 {
		t.Fatalf("past its age: %v, account lane used %d times, want the account's lane", err, l.used["login:acct:admin@example.com"])
	}
}

func TestUnlockGivesTheAccountItsBudgetBackAndSaysSo(t *testing.T) {
	l := &limiterMock{wait: time.Hour}
	a, _ := newAuth(l)
	for i := range domain.DefaultLoginLimits.PerAccount.Burst + 1 {
		_, _, _ = login(a, "admin@example.com", "guess", "203.0.113."+strconv.Itoa(i))
	}
	log := &logMock{}
	a.Log = log
	if _, err := a.Unlock(context.Background(), "nobody@example.com"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unlock of no account: %v", err)
	}
	admin, err := a.Unlock(context.Background(), " Admin@Example.com ")
	if err != nil || admin.ID != 1 || !slices.Equal(l.resets, []string{"login:acct:admin@example.com"}) {
		t.Fatalf("unlock: %+v %v, resets %v", admin, err, l.resets)
	}
	if len(log.events) != 1 || log.events[0].Kind != domain.EventUnlocked || *log.events[0].AdminID != 1 {
		t.Fatalf("logged %+v", log.events)
	}
	if _, _, err := login(a, "admin@example.com", "right-password", "192.0.2.1"); err != nil {
		t.Fatalf("after the unlock: %v", err)
	}
}

// An admin changes their password from a session: the current one is
// checked (tries limited and logged), the new one must be strong and new;
// the account's other sessions end (their epoch is behind), and the one
// that asked continues under a new token.
func TestChangingThePasswordEndsEveryOtherSession(t *testing.T) {
	account := &domain.Admin{ID: 1, Email: "admin@example.com", PasswordHash: adminHash}
	sessions := map[string]domain.Session{"phone": {AdminID: 1}, "desk": {AdminID: 1}}
	log := &logMock{}
	l := &limiterMock{wait: time.Minute}
	var refused []string
	a := &domain.Auth{
		Admins: adminsMock{
			byID: func(_ context.Context, id int64) (*domain.Admin, error) { c := *account; return &c, nil },
			setPass: func(_ context.Context, id int64, hash string, epoch int64, e domain.SecurityEvent) (int64, error) {
				if e.Kind != domain.EventPasswordChanged || e.AdminID == nil || *e.AdminID != id || epoch != account.SessionEpoch {
					t.Errorf("SetPassword's event %+v, epoch %d", e, epoch)
				}
				account.PasswordHash, account.SessionEpoch = hash, account.SessionEpoch+1
				return account.SessionEpoch, nil
			},
		},
		Sessions: sessionsMock{
			get: func(_ context.Context, token string) (domain.Session, error) {
				if s, ok := sessions[token]; ok {
					return s, nil
				}
				return domain.Session{}, domain.Errorf(domain.EUNAUTHORIZED, "expired")
			},
			del: func(_ context.Context, token string) error { delete(sessions, token); return nil },
			create: func(_ context.Context, s domain.Session, _ time.Duration) (string, error) {
				sessions["desk-2"] = s
				return "desk-2", nil
			},
		},
		Limiter: l, Limits: domain.DefaultLoginLimits, Log: log, PseudonymKey: []byte("k"),
		Refused: func(limit string) { refused = append(refused, limit) },
	}
	ctx := context.Background()
	desk, err := a.Authenticate(ctx, "desk")
	if err != nil {
		t.Fatal(err)
	}
	change := func(current, next string) (domain.LoggedIn, error) {
		return a.ChangePassword(ctx, domain.PasswordChange{Token: "desk", Session: desk, Current: current, New: next, Client: "203.0.113.7"})
	}
	for _, c := range []struct{ current, next, field string }{
		{"right-password", "short", "new_password"},
		{"right-password", "right-password", "new_password"},
		{"wrong-password", "a-new-long-password", "current_password"},
	} {
		_, err := change(c.current, c.next)
		if e, _ := domain.AsError(err); e == nil || e.Code != domain.EINVALID || e.Fields[c.field] == "" {
			t.Fatalf("change(%q, %q) = %v, want EINVALID naming %s", c.current, c.next, err, c.field)
		}
	}
	if len(log.events) != 1 || log.events[0].Kind != domain.EventPasswordFailed || strings.Contains(log.events[0].Client, "203.0.113") {
		t.Fatalf("logged %+v, want one pseudonymous password_change_failed", log.events)
	}
	done, err := change("right-password", "a-new-long-password")
	if err != nil || done.Token != "desk-2" || done.Session.Epoch != 1 || done.Session.CSRFToken == desk.CSRFToken {
		t.Fatalf("change = %+v %v, want a new session in epoch 1", done, err)
	}
	if !domain.VerifyPassword(account.PasswordHash, "a-new-long-password") {
		t.Fatal("the new password is not stored")
	}
	if _, err := a.Authenticate(ctx, "phone"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("the other session: %v, want EUNAUTHORIZED", err)
	}
	if _, ok := sessions["phone"]; ok {
		t.Fatal("the other session was not deleted")
	}
	if _, ok := sessions["desk"]; ok {
		t.Fatal("the session that asked kept its old token")
	}
	if _, err := a.Authenticate(ctx, "desk-2"); err != nil {
		t.Fatalf("the new session: %v", err)
	}
	// A session of the epoch before (one that raced past Authenticate)
	// cannot change it again, even knowing the old password.
	stale := domain.PasswordChange{Token: "phone", Session: domain.Session{AdminID: 1}, Current: "right-password", New: "the-attackers-password", Client: "198.51.100.9"}
	if _, err := a.ChangePassword(ctx, stale); domain.ErrorCode(err) != domain.EUNAUTHORIZED || !domain.VerifyPassword(account.PasswordHash, "a-new-long-password") {
		t.Fatalf("a change from an ended session: %v, want EUNAUTHORIZED and the password kept", err)
	}
	// A session guessing the current password is stopped at the budget.
	for range domain.DefaultLoginLimits.PerAccountAndAddress.Burst {
		_, _ = change("guess-guess-guess", "another-long-password")
	}
	if _, err := change("a-new-long-password", "another-long-password"); domain.ErrorCode(err) != domain.ERATELIMITED || !slices.Contains(refused, domain.LimitPassword) {
		t.Fatalf("past the budget: %v (refused %v), want ERATELIMITED under %q", err, refused, domain.LimitPassword)
	}
}
