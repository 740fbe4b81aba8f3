package domain_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/loandesk/loandesk/internal/domain"
)

// mfaWorld is one admin's account, its sessions and its security log in
// memory, behind the stores' function fields.
type mfaWorld struct {
	mu       sync.Mutex
	admin    domain.Admin
	lastStep int64
	recovery [][]byte
	sessions map[string]domain.Session
	events   []string
	n        int
}

func newMFAWorld(t *testing.T, required bool) (*mfaWorld, *domain.Auth, *time.Time) {
	t.Helper()
	w := &mfaWorld{admin: domain.Admin{ID: 7, Email: "ana@example.com", PasswordHash: adminHash}, sessions: map[string]domain.Session{}}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	byID := func(_ context.Context, id int64) (*domain.Admin, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		a := w.admin
		return &a, nil
	}
	a := &domain.Auth{
		Admins: adminsMock{byID: byID, byEmail: func(ctx context.Context, email string) (*domain.Admin, error) {
			if email != w.admin.Email {
				return nil, domain.Errorf(domain.ENOTFOUND, "no admin")
			}
			return byID(ctx, 7)
		}},
		Sessions: sessionsMock{
			create: func(_ context.Context, s domain.Session, _ time.Duration) (string, error) {
				w.mu.Lock()
				defer w.mu.Unlock()
				w.n++
				tok := "token-" + string(rune('a'+w.n))
				w.sessions[tok] = s
				return tok, nil
			},
			del: func(_ context.Context, tok string) error {
				w.mu.Lock()
				defer w.mu.Unlock()
				delete(w.sessions, tok)
				return nil
			},
		},
		MFA: mfaMock{
			set: func(_ context.Context, id int64, sealed []byte) error {
				w.mu.Lock()
				defer w.mu.Unlock()
				if w.admin.MFAEnrolledAt != nil {
					return domain.Errorf(domain.ENOTFOUND, "no admin")
				}
				w.admin.MFASecret = sealed
				return nil
			},
			enable: func(_ context.Context, id, epoch, step int64, rec [][]byte, log domain.Lines) (int64, error) {
				w.mu.Lock()
				defer w.mu.Unlock()
				if w.admin.MFAEnrolledAt != nil || w.admin.SessionEpoch != epoch {
					return 0, domain.Errorf(domain.ENOTFOUND, "no admin")
				}
				at := now
				w.admin.MFAEnrolledAt, w.lastStep, w.recovery = &at, step, rec
				w.admin.SessionEpoch++
				w.events = append(w.events, log.Kinds...)
				return w.admin.SessionEpoch, nil
			},
			useStep: func(_ context.Context, id, step int64, log domain.Lines) (bool, error) {
				w.mu.Lock()
				defer w.mu.Unlock()
				if step <= w.lastStep {
					return false, nil
				}
				w.lastStep = step
				w.events = append(w.events, log.Kinds...)
				return true, nil
			},
			useCode: func(_ context.Context, id int64, hash []byte, log domain.Lines) (bool, int, error) {
				w.mu.Lock()
				defer w.mu.Unlock()
				i := slices.IndexFunc(w.recovery, func(h []byte) bool { return bytes.Equal(h, hash) })
				if i < 0 {
					return false, 0, nil
				}
				w.recovery = slices.Delete(w.recovery, i, i+1)
				w.events = append(w.events, log.Kinds...)
				return true, len(w.recovery), nil
			},
		},
		Log: securityLogFunc(func(_ context.Context, e domain.SecurityEvent) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.events = append(w.events, e.Kind)
			return nil
		}),
		Limiter: &limiterMock{}, SessionTTL: time.Hour, Limits: domain.DefaultLoginLimits,
		DeviceKey: []byte("test-device-key-of-at-least-32-bytes"), MFAKey: bytes.Repeat([]byte{9}, 32),
		PseudonymKey: []byte("k"), MFARequired: required,
		Clock: func() time.Time { return now },
	}
	return w, a, &now
}

type mfaMock struct {
	set     func(ctx context.Context, id int64, sealed []byte) error
	enable  func(ctx context.Context, id, epoch, step int64, rec [][]byte, log domain.Lines) (int64, error)
	useStep func(ctx context.Context, id, step int64, log domain.Lines) (bool, error)
	useCode func(ctx context.Context, id int64, hash []byte, log domain.Lines) (bool, int, error)
}

func (m mfaMock) SetMFASecret(ctx context.Context, id int64, sealed []byte) error {
	return m.set(ctx, id, sealed)
}
func (m mfaMock) EnableMFA(ctx context.Context, id, epoch, step int64, rec [][]byte, log domain.Lines) (int64, error) {
	return m.enable(ctx, id, epoch, step, rec, log)
}
func (m mfaMock) UseMFAStep(ctx context.Context, id, step int64, log domain.Lines) (bool, error) {
	return m.useStep(ctx, id, step, log)
}
func (m mfaMock) UseRecoveryCode(ctx context.Context, id int64, hash []byte, log domain.Lines) (bool, int, error) {
	return m.useCode(ctx, id, hash, log)
}

type securityLogFunc func(ctx context.Context, e domain.SecurityEvent) error

func (f securityLogFunc) RecordSecurityEvent(ctx context.Context, e domain.SecurityEvent) error {
	return f(ctx, e)
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol logs in where TOTP is required and sets it up; it returns the
// secret, the recovery codes and the device cookie.
func enrol(t *testing.T, w *mfaWorld, a *domain.Auth, now time.Time) (string, []string, string) {
	t.Helper()
	ctx := context.Background()
	in, err := a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1"})
	if err != nil || in.Session.MFA != domain.MFAEnrol || in.Device != "" {
		t.Fatalf("Login where TOTP is required = %+v %v, want a session at the enrolment step and no device cookie", in, err)
	}
	if _, err := a.VerifyMFA(ctx, in.Token, in.Session, "123456", "x"); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Fatalf("VerifyMFA at the enrolment step = %v, want EFORBIDDEN", err)
	}
	e, err := a.StartEnrolment(ctx, in.Session)
	if err != nil || len(e.QRPNG) == 0 || !strings.HasPrefix(e.URL, "otpauth://totp/LoanDesk:ana@example.com?") {
		t.Fatalf("StartEnrolment = %+v %v", e, err)
	}
	if bytes.Contains(w.admin.MFASecret, []byte(e.Secret)) {
		t.Fatal("the stored secret is not sealed")
	}
	if _, err := a.ConfirmEnrolment(ctx, in.Token, in.Session, "000000", "x"); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("ConfirmEnrolment with a wrong code = %v", err)
	}
	done, err := a.ConfirmEnrolment(ctx, in.Token, in.Session, code(t, e.Secret, now), "198.51.100.1")
	if err != nil || done.Session.MFA != "" || !done.Session.TOTP || done.Device == "" || len(done.RecoveryCodes) != 10 {
		t.Fatalf("ConfirmEnrolment = %+v %v, want a full session, a device cookie and ten recovery codes", done, err)
	}
	if _, gone := w.sessions[in.Token]; gone || len(slices.Compact(slices.Sorted(slices.Values(done.RecoveryCodes)))) != 10 {
		t.Fatalf("the step's session lives on, or the codes repeat: %v", done.RecoveryCodes)
	}
	if done.Session.Epoch != 1 {
		t.Fatalf("epoch %d: the account's other sessions must end with the enrolment", done.Session.Epoch)
	}
	return e.Secret, done.RecoveryCodes, done.Device
}

func TestTOTPIsSetUpWhereRequiredAndThenAsked(t *testing.T) {
	w, a, now := newMFAWorld(t, true)
	ctx := context.Background()
	secret, _, _ := enrol(t, w, a, *now)
	// A wrong code while setting up is a typo, not a guess: not logged.
	if !slices.Equal(w.events, []string{domain.EventMFAAsked, domain.EventMFAEnrolled, domain.EventLoginOK}) {
		t.Fatalf("events %v", w.events)
	}
	if _, err := a.StartEnrolment(ctx, domain.Session{AdminID: 7, Epoch: 1}); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("a second enrolment = %v, want ECONFLICT (an operator resets it)", err)
	}
	// The code that enrolled is spent: the next login waits for the next step's.
	in, err := a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1"})
	if err != nil || in.Session.MFA != domain.MFAVerify || in.Device != "" {
		t.Fatalf("Login with TOTP = %+v %v, want the verify step", in, err)
	}
	if _, err := a.VerifyMFA(ctx, in.Token, in.Session, code(t, secret, *now), "x"); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("a code used once = %v, want it refused", err)
	}
	*now = now.Add(30 * time.Second)
	done, err := a.VerifyMFA(ctx, in.Token, in.Session, code(t, secret, *now), "x")
	if err != nil || done.Session.MFA != "" || !done.Session.TOTP || done.Device == "" || done.RecoveryLeft != nil {
		t.Fatalf("VerifyMFA = %+v %v", done, err)
	}
	// A code from two steps ago is outside the skew.
	in, _ = a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1"})
	if _, err := a.VerifyMFA(ctx, in.Token, in.Session, code(t, secret, now.Add(-90*time.Second)), "x"); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("an old code = %v", err)
	}
}

func TestARecoveryCodeLogsInOnce(t *testing.T) {
	w, a, now := newMFAWorld(t, true)
	ctx := context.Background()
	_, codes, _ := enrol(t, w, a, *now)
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	for i, want := range []domain.Code{"", domain.EINVALID} {
		in, err := a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1"})
		if err != nil {
			t.Fatal(err)
		}
		done, err := a.VerifyMFA(ctx, in.Token, in.Session, typed, "x")
		if domain.ErrorCode(err) != want || (i == 0 && (done.RecoveryLeft == nil || *done.RecoveryLeft != 9)) {
			t.Fatalf("try %d with a recovery code = %+v %v, want %q (9 left)", i, done, err, want)
		}
	}
	if n := slices.Index(w.events, domain.EventRecoveryUsed); n < 0 || w.events[len(w.events)-1] != domain.EventMFAFailed {
		t.Fatalf("events %v", w.events)
	}
}

func TestCodeTriesAreBoundedPerAccountAndKnownDevicesKeepTheirOwn(t *testing.T) {
	w, a, now := newMFAWorld(t, true)
	ctx := context.Background()
	secret, _, device := enrol(t, w, a, *now)
	refused := 0
	a.Refused = func(limit string) {
		if limit == domain.LimitMFA {
			refused++
		}
	}
	var last error
	for range 8 {
		in, err := a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1"})
		if err != nil || in.Session.Device != "" {
			t.Fatalf("Login = %+v %v", in.Session, err)
		}
		_, last = a.VerifyMFA(ctx, in.Token, in.Session, "999999", "x")
	}
	if domain.ErrorCode(last) != domain.ERATELIMITED || refused == 0 {
		t.Fatalf("the 8th wrong code = %v (%d refusals), want ERATELIMITED", last, refused)
	}
	// A browser this admin finished a login in before has its own budget:
	// the guesses cannot lock the admin out of it.
	in, err := a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1", Device: device})
	if err != nil || in.Session.Device == "" {
		t.Fatalf("Login from the known device = %+v %v, want its device carried to the second step", in.Session, err)
	}
	*now = now.Add(30 * time.Second)
	if done, err := a.VerifyMFA(ctx, in.Token, in.Session, code(t, secret, *now), "x"); err != nil || done.Device == "" {
		t.Fatalf("a known device's code while the account's budget is spent = %+v %v", done, err)
	}
}

func TestAStepSessionEndsWhenItsAccountMovesOn(t *testing.T) {
	w, a, now := newMFAWorld(t, true)
	ctx := context.Background()
	secret, _, _ := enrol(t, w, a, *now)
	in, _ := a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1"})
	w.mu.Lock()
	w.admin.SessionEpoch++ // reset-mfa or a disable meanwhile
	w.mu.Unlock()
	*now = now.Add(30 * time.Second)
	if _, err := a.VerifyMFA(ctx, in.Token, in.Session, code(t, secret, *now), "x"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Fatalf("VerifyMFA after the epoch moved = %v, want EUNAUTHORIZED", err)
	}
	if _, err := a.ChangePassword(ctx, domain.PasswordChange{Session: in.Session, Current: "right-password", New: "another-long-password"}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Fatalf("ChangePassword from a step's session = %v, want EFORBIDDEN", err)
	}
}

func TestTOTPIsEachAdminsChoiceInDevelopment(t *testing.T) {
	w, a, now := newMFAWorld(t, false)
	ctx := context.Background()
	in, err := a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1"})
	if err != nil || in.Session.MFA != "" || in.Session.TOTP {
		t.Fatalf("Login without TOTP, not required = %+v %v", in.Session, err)
	}
	e, err := a.StartEnrolment(ctx, in.Session)
	if err != nil {
		t.Fatal(err)
	}
	done, err := a.ConfirmEnrolment(ctx, in.Token, in.Session, code(t, e.Secret, *now), "x")
	if err != nil || !done.Session.TOTP || done.Device != "" || len(done.RecoveryCodes) != 10 {
		t.Fatalf("a voluntary enrolment = %+v %v (no second login: no device cookie)", done, err)
	}
	if !slices.Equal(w.events, []string{domain.EventLoginOK, domain.EventMFAEnrolled}) {
		t.Fatalf("events %v: a voluntary enrolment is no second login", w.events)
	}
}

func TestCodesFromUnknownBrowsersHaveADailyCap(t *testing.T) {
	w, a, now := newMFAWorld(t, true)
	ctx := context.Background()
	enrol(t, w, a, *now)
	a.Limits.PerAccountAndAddress = domain.Rate{Events: 100, Per: time.Minute, Burst: 100}
	a.Limits.MFAPerDay = domain.Rate{Events: 4, Per: 24 * time.Hour, Burst: 4}
	var errs []domain.Code
	for range 4 {
		in, err := a.Login(ctx, domain.LoginAttempt{Email: "ana@example.com", Password: "right-password", Client: "198.51.100.1"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.VerifyMFA(ctx, in.Token, in.Session, "99999-99999", "x")
		errs = append(errs, domain.ErrorCode(err))
	}
	// The enrolment's two codes (a wrong one, then the right one) spent two of the day's four.
	if want := []domain.Code{domain.EINVALID, domain.EINVALID, domain.ERATELIMITED, domain.ERATELIMITED}; !slices.Equal(errs, want) {
		t.Fatalf("tries %v, want %v", errs, want)
	}
}

// A full session that skipped the second step (opened before TOTP was
// required, or by a replica that did not know it yet) is refused where it
// is due; where TOTP is each admin's choice, it stands until they enrol.
func TestAFullSessionWithoutTheSecondStepEndsWhereItIsDue(t *testing.T) {
	for _, c := range []struct {
		required, enrolled, totp, ok bool
	}{{true, false, false, false}, {false, true, false, false}, {false, false, false, true}, {true, true, true, true}} {
		_, a, _ := newMFAWorld(t, c.required)
		admin := &domain.Admin{ID: 7, Email: "ana@example.com"}
		if c.enrolled {
			at := time.Now()
			admin.MFAEnrolledAt = &at
		}
		deleted := false
		a.Admins = adminsMock{byID: func(context.Context, int64) (*domain.Admin, error) { return admin, nil }}
		a.Sessions = sessionsMock{
			get: func(context.Context, string) (domain.Session, error) {
				return domain.Session{AdminID: 7, TOTP: c.totp}, nil
			},
			del: func(context.Context, string) error { deleted = true; return nil },
		}
		_, err := a.Authenticate(context.Background(), "token")
		if (err == nil) != c.ok || deleted == c.ok {
			t.Errorf("%+v: Authenticate = %v (deleted %v)", c, err, deleted)
		}
	}
}
