package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// junk makes requests of every shape nobody listed: methods standard and
// invented (up to 4,000 letters), paths real and random (percent-encoded
// bytes, dot segments, up past nginx's line limit), query strings, headers
// (forged client addresses, trace contexts, cookies; sizes up to past
// nginx's 8 KiB per line), and bodies (JSON, bytes, chunked; up to past the
// 64 KiB limit). Written as raw bytes, so anything a socket can carry is
// sent, not only what an HTTP client library allows.
type junk struct{ rng *rand.Rand }

const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (j junk) pick(xs ...string) string { return xs[j.rng.IntN(len(xs))] }

func (j junk) word(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[j.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// size is mostly small, sometimes near or past a limit.
func (j junk) size(limit int) int {
	switch j.rng.IntN(10) {
	case 0:
		return limit - 64 + j.rng.IntN(128)
	case 1:
		return j.rng.IntN(limit)
	}
	return j.rng.IntN(64)
}

func (j junk) method() string {
	switch j.rng.IntN(10) {
	case 0, 1:
		return j.word(letters, 1+j.rng.IntN(40))
	case 2:
		return j.word(letters, 100+j.rng.IntN(3900))
	case 3:
		return j.pick("get", "G3T", "M-SEARCH", "PROPFIND", "TRACE", "CONNECT", "BREW", "PRI", "*")
	}
	return j.pick("GET", "GET", "GET", "POST", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS")
}

func (j junk) path() string {
	var b strings.Builder
	if j.rng.IntN(3) == 0 { // a third under the api's prefix
		b.WriteString("/api/v1")
	}
	segs := []string{"api", "v1", "requests", "admin", "session", "stats", "activity", "assets", "..", ".", "%2e%2e",
		"LD-ABCDEFGHJK", "openapi.yaml", "metrics", "healthz", "readyz", "_", "%00", "%ff%fe", "index.html"}
	for range 1 + j.rng.IntN(6) {
		b.WriteByte('/')
		switch j.rng.IntN(4) {
		case 0:
			raw := make([]byte, 1+j.rng.IntN(20))
			for i := range raw {
				raw[i] = byte(j.rng.IntN(256))
			}
			b.WriteString(url.PathEscape(string(raw)))
		case 1:
			b.WriteString(strconv.Itoa(j.rng.IntN(1 << 20)))
		default:
			b.WriteString(j.pick(segs...))
		}
	}
	if j.rng.IntN(50) == 0 { // past nginx's 8 KiB request line: 414
		b.WriteString("/" + j.word("abcdefghij", 8000+j.rng.IntN(2000)))
	}
	if j.rng.IntN(2) == 0 {
		b.WriteByte('?')
		for i := range 1 + j.rng.IntN(5) {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(j.pick("q", "status", "cursor", "limit", "from", "to", j.word("abcxyz", 3)) + "=" +
				url.QueryEscape(j.word("abcdefghijklmnopqrstuvwxyz0123456789@.%'\"<>", j.size(2000))))
		}
	}
	return b.String()
}

func (j junk) headers(b *strings.Builder, host string, bodyLen int, chunked bool) {
	fmt.Fprintf(b, "Host: %s\r\n", host)
	for range j.rng.IntN(12) {
		var name, value string
		switch j.rng.IntN(8) {
		case 0:
			name, value = "X-Forwarded-For", fmt.Sprintf("%d.%d.%d.%d", j.rng.IntN(256), j.rng.IntN(256), j.rng.IntN(256), j.rng.IntN(256))
		case 1:
			name, value = "X-Real-IP", fmt.Sprintf("203.0.113.%d", j.rng.IntN(256))
		case 2:
			name, value = "traceparent", "00-"+j.word("0123456789abcdef", 32)+"-"+j.word("0123456789abcdef", 16)+"-01"
		case 3:
			name, value = "Cookie", "loandesk_session="+j.word("ABCDEFabcdef0123456789-_", 43)
		case 4:
			name, value = "Content-Type", j.pick("application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", j.word("abc/;=", 20))
		case 5:
			name, value = "X-CSRF-Token", j.word("ABCDEFabcdef0123456789-_", j.rng.IntN(100))
		default:
			name, value = "X-"+j.word(letters+"-", 1+j.rng.IntN(30)), j.word("abcdefghijklmnopqrstuvwxyz0123456789 ;,=/", j.size(8192))
		}
		fmt.Fprintf(b, "%s: %s\r\n", name, value)
	}
	if chunked {
		b.WriteString("Transfer-Encoding: " + j.pick("chunked", "chunked", "chunked", "gzip, chunked", "gzip", "identity", j.word("abcxyz", 8)) + "\r\n")
	} else if bodyLen > 0 || j.rng.IntN(4) == 0 {
		fmt.Fprintf(b, "Content-Length: %d\r\n", bodyLen)
	}
	b.WriteString("Connection: close\r\n\r\n")
}

func (j junk) body() []byte {
	n := j.size(64 << 10)
	if j.rng.IntN(20) == 0 {
		n = 64<<10 + j.rng.IntN(16<<10) // past the body limit: 413
	}
	switch j.rng.IntN(3) {
	case 0:
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(j.rng.IntN(256))
		}
		return b
	case 1:
		return []byte(`{"full_name":"` + j.word("abcdefghij ", n) + `","amount":` + strconv.Itoa(j.rng.IntN(1<<30)) + `}`)
	}
	return []byte(`{"` + j.word("abcdefg", 1+j.rng.IntN(10)) + `":` + j.pick("null", "[]", "{}", `"x"`, "1e999", `{"a":{"b":[1,2,3]}}`) + `}`)
}

// request is one junk request, ready to write, and whether its path is
// under /api/ (where every error must be problem+json).
func (j junk) request(host string) ([]byte, bool) {
	method := j.method()
	path := j.path()
	var body []byte
	if j.rng.IntN(3) == 0 || method == "POST" || method == "PUT" || method == "PATCH" {
		body = j.body()
	}
	chunked := len(body) > 0 && j.rng.IntN(6) == 0
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", method, path, j.pick("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/9.9", "HTTP/1.1 x"))
	j.headers(&b, host, len(body), chunked)
	out := []byte(b.String())
	api := underAPI(path)
	if chunked {
		return append(append(append(out, strconv.FormatInt(int64(len(body)), 16)+"\r\n"...), body...), "\r\n0\r\n\r\n"...), api
	}
	return append(out, body...), api
}

// underAPI reports whether nginx would see the path under /api/: after it
// decodes it and resolves dot segments ("/api/../assets" is not).
func underAPI(raw string) bool {
	p, _, _ := strings.Cut(raw, "?")
	if dec, err := url.PathUnescape(p); err == nil {
		p = dec
	}
	return strings.HasPrefix(path.Clean(p)+"/", "/api/")
}

// sendRaw writes one request on a new connection and reads the status and
// Content-Type of the answer (status 0: the server closed or refused the
// connection first).
func sendRaw(ctx context.Context, addr string, req []byte) (int, string) {
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	// A server that answers before the body is all sent (413) may reset
	// the rest: read the answer whatever the write did.
	_, _ = c.Write(req)
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) < 2 {
		return 0, ""
	}
	code, _ := strconv.Atoi(f[1])
	contentType := ""
	for {
		h, err := r.ReadString('\n')
		if err != nil || strings.TrimSpace(h) == "" {
			break
		}
		if name, value, ok := strings.Cut(h, ":"); ok && strings.EqualFold(name, "Content-Type") {
			contentType = strings.TrimSpace(value)
		}
	}
	return code, contentType
}
