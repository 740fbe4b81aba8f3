package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		header, value, want string
	}{
		{"", "", "192.0.2.1"},
		{"X-Real-IP", "203.0.113.7", "203.0.113.7"},
		{"CloudFront-Viewer-Address", "203.0.113.7:46532", "203.0.113.7"},
		{"CloudFront-Viewer-Address", "2001:db8::1:46532", "2001:db8::1"},
		{"CloudFront-Viewer-Address", "[2001:db8::2]:443", "2001:db8::2"},
		{"X-Real-IP", "not an address", "192.0.2.1"},
		{"X-Real-IP", "", "192.0.2.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.1:1234"
		if tc.header != "" && tc.value != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := clientIP(r, tc.header); got != tc.want {
			t.Errorf("clientIP(%s: %q) = %q, want %q", tc.header, tc.value, got, tc.want)
		}
	}
	// Without a configured header, a forged one is ignored.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("X-Real-IP", "10.0.0.1")
	if got := clientIP(r, ""); got != "192.0.2.1" {
		t.Errorf("untrusted header used: %q", got)
	}
}
