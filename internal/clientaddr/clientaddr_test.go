package clientaddr

import (
	"context"
	"net"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func mustProxies(t *testing.T, list string) *Proxies {
	t.Helper()
	p, err := ParseProxies(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAddrAndKeyFromATrustedProxy(t *testing.T) {
	trusted := mustProxies(t, "192.0.2.0/24")
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
		res := Resolver{Header: tc.header, Trusted: trusted}
		if got := res.Addr(r).String(); got != tc.ip {
			t.Errorf("Addr(%s: %q) = %q, want %q", tc.header, tc.value, got, tc.ip)
		}
		if got := res.Key(r); got != tc.key {
			t.Errorf("Key(%s: %q) = %q, want %q", tc.header, tc.value, got, tc.key)
		}
	}
	// Two connections of one IPv6 viewer share a key; two viewers do not.
	res := Resolver{Header: "CloudFront-Viewer-Address", Trusted: trusted}
	key := func(v string) string {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.9:443"
		r.Header.Set(res.Header, v)
		return res.Key(r)
	}
	a, b, c := key("2001:db8:1:2::10:51000"), key("2001:db8:1:2:ffff::20:443"), key("2001:db8:1:3::10:51000")
	if a != b || a == c {
		t.Errorf("keys %q %q %q: want the first two equal and the third different", a, b, c)
	}
}

func TestTheHeaderOfAnUntrustedPeerIsIgnored(t *testing.T) {
	for _, trusted := range []string{"", "10.0.0.0/8", "198.51.100.1"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("X-Real-IP", "10.0.0.1")
		res := Resolver{Header: "X-Real-IP", Trusted: mustProxies(t, trusted)}
		if got := res.Addr(r).String(); got != "192.0.2.1" {
			t.Errorf("trusting %q: a forged header from 192.0.2.1 was used: %q", trusted, got)
		}
	}
}

func TestNamedProxiesAreResolvedAndForgotten(t *testing.T) {
	p := mustProxies(t, "web, 10.9.0.0/16")
	answers := map[string][]netip.Addr{"web": {netip.MustParseAddr("172.18.0.5")}}
	var dnsDown bool
	p.lookup = func(_ context.Context, host string) ([]netip.Addr, error) {
		if dnsDown {
			return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
		}
		if a, ok := answers[host]; ok {
			return a, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	web := netip.MustParseAddr("172.18.0.5")
	if p.Trusts(web) {
		t.Fatal("trusted before the name was resolved")
	}
	if err := p.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !p.Trusts(web) || !p.Trusts(netip.MustParseAddr("::ffff:172.18.0.5")) || !p.Trusts(netip.MustParseAddr("10.9.3.4")) {
		t.Fatal("the resolved proxy or the prefix is not trusted")
	}
	// DNS does not answer for a while: web is still web.
	dnsDown = true
	if err := p.Refresh(context.Background()); err == nil || !p.Trusts(web) {
		t.Fatalf("a DNS timeout (err %v) dropped the trusted proxy", err)
	}
	dnsDown = false
	// web is recreated elsewhere, then gone: its old addresses lose trust.
	answers["web"] = []netip.Addr{netip.MustParseAddr("172.18.0.9")}
	_ = p.Refresh(context.Background())
	if p.Trusts(web) || !p.Trusts(netip.MustParseAddr("172.18.0.9")) {
		t.Fatal("the old address is still trusted, or the new one is not")
	}
	delete(answers, "web")
	if err := p.Refresh(context.Background()); err == nil {
		t.Fatal("a name that does not resolve is not reported")
	}
	if p.Trusts(netip.MustParseAddr("172.18.0.9")) {
		t.Fatal("a proxy that no longer exists is still trusted")
	}
}

// A proxy that started after the last refresh is trusted from its first
// request: an unknown peer that sends the header makes the names be
// resolved again (at most once a second).
func TestANewProxyIsTrustedAtOnce(t *testing.T) {
	p := mustProxies(t, "web")
	clock := time.Unix(1_700_000_000, 0)
	p.now = func() time.Time { return clock }
	lookups := 0
	var answer []netip.Addr
	p.lookup = func(context.Context, string) ([]netip.Addr, error) { lookups++; return answer, nil }
	_ = p.Refresh(context.Background()) // at start: web is not there yet
	answer = []netip.Addr{netip.MustParseAddr("172.18.0.7")}
	clock = clock.Add(5 * time.Second)
	res := Resolver{Header: "X-Real-IP", Trusted: p}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "172.18.0.7:5555"
	r.Header.Set("X-Real-IP", "203.0.113.8")
	if got := res.Addr(r).String(); got != "203.0.113.8" {
		t.Fatalf("the new proxy's first request: client %s, want its header's", got)
	}
	r.RemoteAddr = "172.18.0.66:5555" // a stranger, within the second: no new lookup
	clock = clock.Add(500 * time.Millisecond)
	before := lookups
	if got := res.Addr(r).String(); got != "172.18.0.66" || lookups != before {
		t.Fatalf("a stranger's header: client %s after %d more lookups; want its own address, no lookup", got, lookups-before)
	}
}

func TestParseProxiesRefusesJunk(t *testing.T) {
	for _, bad := range []string{"web;rm", "10.0.0.0/33", "-web", "a..b"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) accepted", bad)
		}
	}
	if p := mustProxies(t, " , "); !p.Empty() {
		t.Error("an empty list trusts someone")
	}
}
