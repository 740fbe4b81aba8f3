package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

func valid() domain.Application {
	return domain.Application{FullName: "María José Pérez", Email: "maria@example.com", DocumentNumber: "30123950", Gender: "F", Amount: 150000}
}

func TestValidateAcceptsGoodApplications(t *testing.T) {
	for name, mut := range map[string]func(*domain.Application){
		"as is":            func(*domain.Application) {},
		"7-digit DNI":      func(a *domain.Application) { a.DocumentNumber = "1234567" },
		"DNI with dots":    func(a *domain.Application) { a.DocumentNumber = "30.123.950" },
		"gender X":         func(a *domain.Application) { a.Gender = "x" },
		"min amount":       func(a *domain.Application) { a.Amount = domain.MinAmount },
		"max amount":       func(a *domain.Application) { a.Amount = domain.MaxAmount },
		"apostrophe":       func(a *domain.Application) { a.FullName = "Seán O'Connor-Núñez" },
		"markup kept text": func(a *domain.Application) { a.FullName = `<img src=x onerror=alert(1)> Ana` },
		"padded email":     func(a *domain.Application) { a.Email = "  Maria@Example.COM " },
	} {
		t.Run(name, func(t *testing.T) {
			a := valid()
			mut(&a)
			a.Normalize()
			if err := a.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateNamesEachBadField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mut   func(*domain.Application)
		field string
	}{
		{"empty name", func(a *domain.Application) { a.FullName = "" }, "full_name"},
		{"one letter", func(a *domain.Application) { a.FullName = "A" }, "full_name"},
		{"digits only", func(a *domain.Application) { a.FullName = "12345" }, "full_name"},
		{"too long name", func(a *domain.Application) { a.FullName = strings.Repeat("a", 121) }, "full_name"},
		{"control char", func(a *domain.Application) { a.FullName = "Ana\x00Maria" }, "full_name"},
		{"bidi override", func(a *domain.Application) { a.FullName = "Ana\u202eMaria" }, "full_name"},
		{"invalid utf8", func(a *domain.Application) { a.FullName = "Ana \xff Maria" }, "full_name"},
		{"no email", func(a *domain.Application) { a.Email = "" }, "email"},
		{"email no domain dot", func(a *domain.Application) { a.Email = "a@b" }, "email"},
		{"email display name", func(a *domain.Application) { a.Email = "Ana <ana@example.com>" }, "email"},
		{"email unicode", func(a *domain.Application) { a.Email = "añá@example.com" }, "email"},
		{"short DNI", func(a *domain.Application) { a.DocumentNumber = "123456" }, "document_number"},
		{"long DNI", func(a *domain.Application) { a.DocumentNumber = "123456789" }, "document_number"},
		{"letters DNI", func(a *domain.Application) { a.DocumentNumber = "12A45678" }, "document_number"},
		{"SQL in DNI", func(a *domain.Application) { a.DocumentNumber = "1' OR '1'='1" }, "document_number"},
		{"gender", func(a *domain.Application) { a.Gender = "Q" }, "gender"},
		{"low amount", func(a *domain.Application) { a.Amount = domain.MinAmount - 1 }, "amount"},
		{"high amount", func(a *domain.Application) { a.Amount = domain.MaxAmount + 1 }, "amount"},
		{"negative amount", func(a *domain.Application) { a.Amount = -5 }, "amount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := valid()
			tc.mut(&a)
			a.Normalize()
			err := a.Validate()
			e, ok := domain.AsError(err)
			if !ok || e.Code != domain.EINVALID {
				t.Fatalf("Validate() = %v, want EINVALID", err)
			}
			if len(e.Fields) != 1 || e.Fields[tc.field] == "" {
				t.Fatalf("fields = %v, want exactly %q", e.Fields, tc.field)
			}
		})
	}
}

func TestValidateReportsAllFieldsAtOnce(t *testing.T) {
	e, _ := domain.AsError(domain.Application{}.Validate())
	for _, f := range []string{"full_name", "email", "document_number", "gender", "amount"} {
		if e.Fields[f] == "" {
			t.Errorf("no message for %s in %v", f, e.Fields)
		}
	}
}

func TestFingerprintFollowsContent(t *testing.T) {
	a, b := valid(), valid()
	if a.Fingerprint() != b.Fingerprint() {
		t.Fatal("same content, different fingerprints")
	}
	b.Amount++
	if a.Fingerprint() == b.Fingerprint() {
		t.Fatal("different content, same fingerprint")
	}
	// Field boundaries matter: moving a character between fields changes it.
	c, d := valid(), valid()
	c.FullName, c.Email = "Ana B", "c@example.com"
	d.FullName, d.Email = "Ana", "Bc@example.com"
	if c.Fingerprint() == d.Fingerprint() {
		t.Fatal("fingerprint ignores field boundaries")
	}
}

func TestTrackingCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := domain.NewTrackingCode()
		if !domain.ValidTrackingCode(c) {
			t.Fatalf("NewTrackingCode() = %q is not valid", c)
		}
		if seen[c] {
			t.Fatalf("duplicate code %q", c)
		}
		seen[c] = true
	}
	for _, bad := range []string{"", "LD-", "LD-0123456789A", "XX-0123456789", "LD-01234567IO", "ld-0123456789"} {
		if domain.ValidTrackingCode(bad) {
			t.Errorf("ValidTrackingCode(%q) = true", bad)
		}
	}
}

func TestIdempotencyKeyShape(t *testing.T) {
	for key, want := range map[string]bool{
		"3f2b8c1e-9d4a-4b7e-8a61-0c5d2e7f9a13": true, "abcdefgh": true, "abc": false,
		strings.Repeat("a", 129): false, "has space 123": false, "semi;colon123": false,
	} {
		if got := domain.ValidIdempotencyKey(key); got != want {
			t.Errorf("ValidIdempotencyKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestDecisionIsTakenOnce(t *testing.T) {
	now := time.Now()
	l := &domain.LoanRequest{Status: domain.StatusInReview, TrackingCode: "LD-0000000000"}
	if err := l.ApplyDecision(domain.Decision{Status: domain.StatusApproved, Reason: domain.ReasonScore}, now); err != nil {
		t.Fatal(err)
	}
	if l.DecidedAt == nil || l.DecidedBy != "system" {
		t.Fatalf("decision not recorded: %+v", l)
	}
	err := l.ApplyDecision(domain.Decision{Status: domain.StatusRejected, Reason: domain.ReasonScore}, now)
	if domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("second decision: err = %v, want ECONFLICT", err)
	}
	if l.Status != domain.StatusApproved {
		t.Fatalf("status changed to %s by a second decision", l.Status)
	}
}

func TestAdminStatusChangeRules(t *testing.T) {
	now := time.Now()
	l := &domain.LoanRequest{Status: domain.StatusInReview, TrackingCode: "LD-0000000000"}
	if err := l.SetStatus(domain.StatusApproved, "  ", "ana@x.com", now); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("blank comment: err = %v, want EINVALID", err)
	}
	if err := l.SetStatus("paid", "ok", "ana@x.com", now); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("unknown status: err = %v, want EINVALID", err)
	}
	if err := l.SetStatus(domain.StatusApproved, "documents checked", "ana@x.com", now); err != nil {
		t.Fatal(err)
	}
	if l.Reason != domain.ReasonManual || l.DecidedBy != "ana@x.com" || l.DecidedAt == nil {
		t.Fatalf("manual decision not recorded: %+v", l)
	}
	if err := l.SetStatus(domain.StatusApproved, "again", "ana@x.com", now); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("same status: err = %v, want ECONFLICT", err)
	}
	if err := l.Delete(now); err != nil {
		t.Fatal(err)
	}
	if err := l.Delete(now); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("double delete: err = %v, want ECONFLICT", err)
	}
	if err := l.SetStatus(domain.StatusRejected, "no", "ana@x.com", now); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("change on deleted: err = %v, want ECONFLICT", err)
	}
	if err := l.Restore(now); err != nil || l.Deleted() {
		t.Fatalf("restore: %v, deleted=%v", err, l.Deleted())
	}
	if err := l.Restore(now); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("double restore: err = %v, want ECONFLICT", err)
	}
}

func TestReceiptHidesPersonalData(t *testing.T) {
	l := &domain.LoanRequest{TrackingCode: "LD-0000000000", Application: valid(), Status: domain.StatusInReview, Reason: domain.ReasonManual}
	r := l.Receipt()
	if r.Reason != domain.ReasonNone {
		t.Fatalf("internal triage reason leaked: %q", r.Reason)
	}
	if r.TrackingCode != l.TrackingCode || r.Amount != l.Amount {
		t.Fatalf("receipt = %+v", r)
	}
}

func TestPasswordHashing(t *testing.T) {
	h := domain.HashPassword("correct horse battery staple")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %q, want argon2id PHC string", h)
	}
	if !domain.VerifyPassword(h, "correct horse battery staple") {
		t.Fatal("right password rejected")
	}
	if domain.VerifyPassword(h, "correct horse battery stapl") {
		t.Fatal("wrong password accepted")
	}
	if h == domain.HashPassword("correct horse battery staple") {
		t.Fatal("hashes are not salted")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$x$y$z$w", "$argon2id$v=19$m=0,t=0,p=0$AA$AA"} {
		if domain.VerifyPassword(bad, "x") {
			t.Errorf("VerifyPassword(%q) = true", bad)
		}
	}
}

// What the audit trail keeps of a request is its decision and deletion:
// none of the applicant's personal data.
func TestAuditStateHoldsNoPersonalData(t *testing.T) {
	score := 700
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l := &domain.LoanRequest{Application: domain.Application{FullName: "Ana Pérez", Email: "ana@example.com", DocumentNumber: "30123950"},
		Status: domain.StatusApproved, Reason: domain.ReasonScore, Score: &score, DecidedAt: &now, DecidedBy: "system"}
	st := l.AuditState()
	b, _ := json.Marshal(st)
	for _, pii := range []string{"Ana", "ana@example.com", "30123950"} {
		if strings.Contains(string(b), pii) {
			t.Errorf("audit state %s holds %q", b, pii)
		}
	}
	if st["status"] != domain.StatusApproved || st["decided_by"] != "system" {
		t.Errorf("audit state %v lacks the decision", st)
	}
}
