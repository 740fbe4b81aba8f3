package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/loandesk/loandesk/internal/domain"
)

// FuzzValidate checks that validation never panics and that whatever it
// accepts is safe to store and show: bounded, valid UTF-8, no control
// characters, a 7–8 digit DNI, a known gender, an amount in range.
func FuzzValidate(f *testing.F) {
	seeds := []struct {
		name, email, doc, gender string
		amount                   int64
	}{
		{"María José Pérez", "maria@example.com", "30123950", "F", 150000},
		{strings.Repeat("Ñ", 5000), "a@b.co", "1234567", "M", 10000},
		{"Robert'); DROP TABLE loan_requests;--", "x@y.z", "1' OR '1'='1", "X", 5000000},
		{"<img src=x onerror=alert(1)>", "<script>@x.com", "<b>1</b>", "<", -1},
		{"Ana\x00\x01\x1b[31m", "a\r\n@example.com", "12\n345678", "F\x00", 1 << 62},
		{"\u202eevil\u200b", "ü@ü.ü", "١٢٣٤٥٦٧", "ｘ", 0},
		{"\xff\xfe", "\xff@example.com", "\xff", "\xff", 9999},
		{"  José   Luis  ", "  JOSE@EXAMPLE.COM ", "30.123.950", " m ", 4999999},
	}
	for _, s := range seeds {
		f.Add(s.name, s.email, s.doc, s.gender, s.amount)
	}
	f.Fuzz(func(t *testing.T, name, email, doc, gender string, amount int64) {
		a := domain.Application{FullName: name, Email: email, DocumentNumber: doc, Gender: domain.Gender(gender), Amount: amount}
		a.Normalize()
		err := a.Validate()
		if err != nil {
			if e, ok := domain.AsError(err); !ok || e.Code != domain.EINVALID || len(e.Fields) == 0 {
				t.Fatalf("Validate() = %#v, want EINVALID with fields", err)
			}
			return
		}
		if !utf8.ValidString(a.FullName) || utf8.RuneCountInString(a.FullName) > 120 || len(a.Email) > 254 {
			t.Fatalf("accepted unbounded or invalid text: %q %q", a.FullName, a.Email)
		}
		for _, r := range a.FullName + a.Email {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted a control character: %q", a.FullName+a.Email)
			}
		}
		if len(a.DocumentNumber) < 7 || len(a.DocumentNumber) > 8 || strings.Trim(a.DocumentNumber, "0123456789") != "" {
			t.Fatalf("accepted DNI %q", a.DocumentNumber)
		}
		if a.Gender != "F" && a.Gender != "M" && a.Gender != "X" {
			t.Fatalf("accepted gender %q", a.Gender)
		}
		if a.Amount < domain.MinAmount || a.Amount > domain.MaxAmount {
			t.Fatalf("accepted amount %d", a.Amount)
		}
		// Normalizing twice changes nothing.
		b := a
		b.Normalize()
		if b != a {
			t.Fatalf("Normalize is not idempotent: %+v vs %+v", a, b)
		}
	})
}
