// Package clientaddr says who a request comes from, for the rate limits: the
// connection's address, or — only when the connection comes from a proxy
// this process is told to trust — the address that proxy wrote in a header.
// A header any client can send never decides it.
package clientaddr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxies is the set of peers whose address header is believed: prefixes
// given as CIDRs or addresses, and host names (compose's "web", Swarm's
// "tasks.web") resolved now and again by Watch — and at once, at most once a
// second, when a peer that is not trusted sends the header (a proxy just
// started or recreated elsewhere) — so a new proxy is trusted within a
// request and an old address no longer is.
type Proxies struct {
	prefixes []netip.Prefix
	names    []string
	// lookup resolves a name (net.DefaultResolver; tests replace it and
	// the clock).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	now    func() time.Time

	mu     sync.Mutex
	byName map[string][]netip.Addr // each name's last answer
	// resolved is every name's addresses, read without a lock.
	resolved    atomic.Pointer[[]netip.Addr]
	lastRefresh atomic.Int64 // unix nanoseconds
}

// maxPerName bounds the addresses kept for one name, whatever DNS answers.
const maxPerName = 64

// ParseProxies reads a list separated by commas or spaces of CIDRs
// ("10.0.0.0/16"), addresses and host names. An empty list trusts nobody.
func ParseProxies(list string) (*Proxies, error) {
	p := &Proxies{byName: map[string][]netip.Addr{}, now: time.Now, lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}}
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		if pfx, err := netip.ParsePrefix(f); err == nil {
			p.prefixes = append(p.prefixes, pfx.Masked())
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			a = a.Unmap()
			p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		if !validHost(f) {
			return nil, fmt.Errorf("%q is not a CIDR, an address or a host name", f)
		}
		p.names = append(p.names, f)
	}
	p.resolved.Store(&[]netip.Addr{})
	return p, nil
}

func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Empty reports whether nobody is trusted.
func (p *Proxies) Empty() bool { return p == nil || len(p.prefixes) == 0 && len(p.names) == 0 }

// Trusts reports whether a is a trusted proxy.
func (p *Proxies) Trusts(a netip.Addr) bool {
	if p == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return slices.Contains(*p.resolved.Load(), a)
}

// Refresh resolves the names again. A name that no longer exists keeps
// nothing (a proxy that is gone is trusted no more); one that could not be
// resolved now (a DNS timeout) keeps its last answer.
func (p *Proxies) Refresh(ctx context.Context) error {
	p.lastRefresh.Store(p.now().UnixNano())
	var errs []error
	answers := map[string][]netip.Addr{}
	for _, n := range p.names {
		addrs, err := p.lookup(ctx, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolving trusted proxy %q: %w", n, err))
			var dnsErr *net.DNSError
			if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
				continue // keep what it was
			}
		}
		for _, a := range addrs[:min(len(addrs), maxPerName)] {
			answers[n] = append(answers[n], a.Unmap())
		}
		if answers[n] == nil {
			answers[n] = []netip.Addr{}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, addrs := range answers {
		p.byName[n] = addrs
	}
	var all []netip.Addr
	for _, addrs := range p.byName {
		all = append(all, addrs...)
	}
	p.resolved.Store(&all)
	return errors.Join(errs...)
}

// refreshSoon refreshes the names now unless that was done less than a
// second ago: what a request from an unknown peer with the header costs.
func (p *Proxies) refreshSoon(ctx context.Context) {
	last := p.lastRefresh.Load()
	now := p.now()
	if len(p.names) == 0 || now.Sub(time.Unix(0, last)) < time.Second || !p.lastRefresh.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_ = p.Refresh(rctx)
}

// Watch refreshes the names every interval until ctx ends. Failures are
// logged at most once a minute: the proxy may simply not have started yet.
func (p *Proxies) Watch(ctx context.Context, every time.Duration, log *slog.Logger) {
	if len(p.names) == 0 {
		return
	}
	var lastWarn time.Time
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, every)
		err := p.Refresh(rctx)
		cancel()
		if err != nil && ctx.Err() == nil && time.Since(lastWarn) > time.Minute {
			log.WarnContext(ctx, "trusted proxy not resolved; its header is ignored until it is", "err", err)
			lastWarn = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Resolver reads a request's client address.
type Resolver struct {
	// Header holds the client's address when a trusted proxy sets it:
	// X-Real-IP (our nginx), CloudFront-Viewer-Address (AWS). Empty: the
	// connection's address is the client's.
	Header  string
	Trusted *Proxies
}

// Addr is the client's address: the Header's value when the connection
// comes from a trusted proxy and the value is an address; otherwise the
// connection's own address.
func (r Resolver) Addr(req *http.Request) netip.Addr {
	peer := peerAddr(req.RemoteAddr)
	if r.Header == "" || req.Header.Get(r.Header) == "" {
		return peer
	}
	if !r.Trusted.Trusts(peer) {
		if r.Trusted == nil {
			return peer
		}
		r.Trusted.refreshSoon(req.Context())
		if !r.Trusted.Trusts(peer) {
			return peer
		}
	}
	v := strings.TrimSpace(req.Header.Get(r.Header))
	// CloudFront-Viewer-Address always ends in ":port" ("203.0.113.7:46532",
	// "2001:db8::1:46532", IPv6 without brackets); X-Real-IP holds an address.
	if strings.EqualFold(r.Header, "CloudFront-Viewer-Address") {
		if i := strings.LastIndexByte(v, ':'); i > 0 {
			v = v[:i]
		}
	} else if ap, err := netip.ParseAddrPort(v); err == nil {
		v = ap.Addr().String()
	}
	if a, err := netip.ParseAddr(strings.Trim(v, "[]")); err == nil {
		return a.Unmap()
	}
	return peer
}

// Key names the client for rate limits: its IPv4 address, or its IPv6 /64
// — one subscriber's network, where every address is theirs to use.
func (r Resolver) Key(req *http.Request) string {
	a := r.Addr(req)
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(remote)
	return a.Unmap()
}
