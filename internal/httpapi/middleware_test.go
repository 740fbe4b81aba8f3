package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loandesk/loandesk/internal/domain"
)

func TestClientIPAndKey(t *testing.T) {
	for _, tc := range []struct {
		header, value, ip, key string
	}{
		{"", "", "192.0.2.1", "192.0.2.1"},
		{"X-Real-IP", "203.0.113.7", "203.0.113.7", "203.0.113.7"},
		{"X-Real-IP", "::ffff:203.0.113.7", "203.0.113.7", "203.0.113.7"},
		{"CloudFront-Viewer-Address", "203.0.113.7:46532", "203.0.113.7", "203.0.113.7"},
		{"CloudFront-Viewer-Address", "2001:db8::1:46532", "2001:db8::1", "2001:db8::/64"},
		// A port of four digits or fewer still reads as an address group:
		// CloudFront always appends the port, so it always goes.
		{"CloudFront-Viewer-Address", "2001:db8::1:443", "2001:db8::1", "2001:db8::/64"},
		{"CloudFront-Viewer-Address", "2001:db8:0:7:aaaa:bbbb:cccc:1:80", "2001:db8:0:7:aaaa:bbbb:cccc:1", "2001:db8:0:7::/64"},
		{"X-Real-IP", "2001:db8:0:7::9", "2001:db8:0:7::9", "2001:db8:0:7::/64"},
		{"X-Real-IP", "not an address", "192.0.2.1", "192.0.2.1"},
		{"X-Real-IP", "", "192.0.2.1", "192.0.2.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.1:1234"
		if tc.header != "" && tc.value != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := clientIP(r, tc.header).String(); got != tc.ip {
			t.Errorf("clientIP(%s: %q) = %q, want %q", tc.header, tc.value, got, tc.ip)
		}
		if got := clientKey(r, tc.header); got != tc.key {
			t.Errorf("clientKey(%s: %q) = %q, want %q", tc.header, tc.value, got, tc.key)
		}
	}
	// Two connections of one IPv6 viewer share a key; two viewers do not.
	a, b, c := httptest.NewRequest("GET", "/", nil), httptest.NewRequest("GET", "/", nil), httptest.NewRequest("GET", "/", nil)
	a.Header.Set("CloudFront-Viewer-Address", "2001:db8:1:2::10:51000")
	b.Header.Set("CloudFront-Viewer-Address", "2001:db8:1:2:ffff::20:443")
	c.Header.Set("CloudFront-Viewer-Address", "2001:db8:1:3::10:51000")
	const h = "CloudFront-Viewer-Address"
	if clientKey(a, h) != clientKey(b, h) || clientKey(a, h) == clientKey(c, h) {
		t.Errorf("keys %q %q %q: want the first two equal and the third different", clientKey(a, h), clientKey(b, h), clientKey(c, h))
	}
	// Without a configured header, a forged one is ignored.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("X-Real-IP", "10.0.0.1")
	if got := clientIP(r, "").String(); got != "192.0.2.1" {
		t.Errorf("untrusted header used: %q", got)
	}
}

func TestDecodeRefusesAmbiguousKeys(t *testing.T) {
	for body, field := range map[string]string{
		`{"email":"a@x.com","email":"b@x.com"}`:                "email",
		`{"email":"a@x.com","EMAIL":"b@x.com"}`:                "EMAIL",
		`{"Email":"a@x.com"}`:                                  "Email",
		`{"password":"p","email":"a@x.com","email":"a@x.com"}`: "email",
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var in struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		err := decode(httptest.NewRecorder(), r, &in)
		e, ok := domain.AsError(err)
		if !ok || e.Code != domain.EINVALID || e.Fields[field] == "" {
			t.Errorf("%s: err = %v, want EINVALID naming %q", body, err, field)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"email":"a@x.com","password":"p"}`))
	r.Header.Set("Content-Type", "application/json")
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(httptest.NewRecorder(), r, &in); err != nil || in.Email != "a@x.com" {
		t.Fatalf("a plain body: %v %+v", err, in)
	}
}
