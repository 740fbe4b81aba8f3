package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The personal data a run used — every applicant's DNI, email and name,
// the admin's email, a sample of the random emails tried at the login,
// every session id and CSRF token handed out — is the scan's input: every
// container's log and every span the stack exported must hold none of it,
// in any spelling a log line or a URL would give it (raw, lower case,
// percent-encoded).
type usedValues struct {
	DNIs   []string `json:"dnis"`
	Emails []string `json:"emails"`
	Names  []string `json:"names"`
	Tokens []string `json:"tokens"`
}

// used records one value the run sent; sample=false when it is one of so
// many (a flood's) that a sample of them suffices.
func (s *suite) used(kind, v string, sample bool) {
	if v == "" || !sample {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "dni":
		s.usedSet.DNIs = append(s.usedSet.DNIs, v)
	case "email":
		s.usedSet.Emails = append(s.usedSet.Emails, v)
	case "name":
		s.usedSet.Names = append(s.usedSet.Names, v)
	case "token":
		s.usedSet.Tokens = append(s.usedSet.Tokens, v)
	}
}

// usedFile is where a phase leaves what it used for the scan at the end
// (the suite runs once per phase; results/ is the repository's, mounted).
func usedFile(phase string) string {
	return filepath.Join("tools", "chaos", "results", "used-"+phase+".json")
}

func (s *suite) saveUsed(phase string) error {
	s.mu.Lock()
	b, err := json.Marshal(s.usedSet)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(usedFile(phase), b, 0o600)
}

func (s *suite) loadUsed(phases ...string) error {
	for _, p := range phases {
		b, err := os.ReadFile(usedFile(p))
		if err != nil {
			return fmt.Errorf("what phase %s used: %w", p, err)
		}
		var u usedValues
		if err := json.Unmarshal(b, &u); err != nil {
			return err
		}
		s.mu.Lock()
		s.usedSet.DNIs = append(s.usedSet.DNIs, u.DNIs...)
		s.usedSet.Emails = append(s.usedSet.Emails, u.Emails...)
		s.usedSet.Names = append(s.usedSet.Names, u.Names...)
		s.usedSet.Tokens = append(s.usedSet.Tokens, u.Tokens...)
		s.mu.Unlock()
	}
	return nil
}

// detector finds the used values in a text by its tokens: digit runs for a
// DNI (a whole run, so a timestamp's digits are no false alarm; not inside
// a run of 16 or more hex digits, an id: a random request id once held a
// DNI's eight digits between two of its letters), email-like
// runs (with @ or %40), words (a name's words, each of them generated for
// this run), and base64url runs of a token's length.
type detector struct {
	dnis, emails, words map[string]string // spelling → what it is
	tokens              []string
	values              int
}

var (
	// An id (request, trace, span: 16 or 32 hex digits) is one token.
	digitsRE = regexp.MustCompile(`[0-9a-fA-F]{16,}|[0-9]+`)
	dottedRE = regexp.MustCompile(`[0-9]{1,2}\.[0-9]{3}\.[0-9]{3}`)
	emailRE  = regexp.MustCompile(`(?i)[a-z0-9._+-]+(?:@|%40)[a-z0-9.-]+`)
	wordRE   = regexp.MustCompile(`\pL+`)
	// A word with percent-encoded letters ("Zaber%C3%BAno").
	encodedRE = regexp.MustCompile(`(?:\pL|%[0-9A-Fa-f]{2})*%[0-9A-Fa-f]{2}(?:\pL|%[0-9A-Fa-f]{2})*`)
)

func newDetector(u usedValues) *detector {
	d := &detector{dnis: map[string]string{}, emails: map[string]string{}, words: map[string]string{}}
	for _, v := range u.DNIs {
		d.dnis[v] = "DNI " + v
	}
	for _, v := range u.Emails {
		d.emails[strings.ToLower(v)] = "email " + v
	}
	for _, v := range u.Names {
		// Every applicant's surname is made for the run (see applicant):
		// any of its spellings is that person.
		f := strings.Fields(v)
		d.words[strings.ToLower(f[len(f)-1])] = "name " + v
	}
	for _, v := range u.Tokens {
		if !slices.Contains(d.tokens, v) {
			d.tokens = append(d.tokens, v)
		}
	}
	d.values = len(d.dnis) + len(d.emails) + len(d.words) + len(d.tokens)
	return d
}

// find returns up to three of the used values b holds.
func (d *detector) find(b []byte) []string {
	var found []string
	add := func(what string) bool {
		found = append(found, what)
		return len(found) >= 3
	}
	for _, m := range digitsRE.FindAll(b, -1) {
		if what, ok := d.dnis[string(m)]; ok && add(what) {
			return found
		}
	}
	for _, m := range dottedRE.FindAll(b, -1) {
		if what, ok := d.dnis[strings.ReplaceAll(string(m), ".", "")]; ok && add(what+" (with dots)") {
			return found
		}
	}
	for _, m := range emailRE.FindAll(b, -1) {
		e := strings.ToLower(strings.ReplaceAll(string(m), "%40", "@"))
		if what, ok := d.emails[strings.Trim(e, ".")]; ok && add(what) {
			return found
		}
		if strings.HasSuffix(e, "@chaos.example") || strings.HasSuffix(e, "@junk.example") {
			if add("an email of the run's domains (" + e + ")") {
				return found
			}
		}
	}
	for _, m := range wordRE.FindAll(b, -1) {
		if what, ok := d.words[strings.ToLower(string(m))]; ok && add(what) {
			return found
		}
	}
	for _, m := range encodedRE.FindAll(b, -1) {
		dec, err := url.PathUnescape(string(m))
		if err != nil {
			continue
		}
		for _, w := range wordRE.FindAllString(dec, -1) {
			if what, ok := d.words[strings.ToLower(w)]; ok && add(what+" (percent-encoded)") {
				return found
			}
		}
	}
	// Few tokens, each searched for anywhere (inside a longer run too).
	for _, tok := range d.tokens {
		if bytes.Contains(b, []byte(tok)) && add("a session id or CSRF token") {
			return found
		}
	}
	return found
}

// searchWhileDown sends admin searches for people the run filed — by DNI,
// email and name — through web while no api replica runs: web answers them
// itself (502), and whatever it writes about them is read by the scan.
func (s *suite) searchWhileDown(ctx context.Context) {
	var codes []int
	for i, q := range []string{s.usedSet.DNIs[0], s.usedSet.Emails[0], s.usedSet.Names[0]} {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/admin/requests?q=%s&n=%d", s.cfg.web, url.QueryEscape(q), i), nil)
		resp, err := s.http.Do(req)
		code := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		codes = append(codes, code)
	}
	// 502 once the name no longer resolves, 504 while web still tries an
	// address it remembers: web's answers either way.
	gateway := !slices.ContainsFunc(codes, func(c int) bool { return c != 502 && c != 504 })
	s.check(gateway, "searches by DNI, email and name with the api down: %v (web answers 502 or 504)", codes)
}

// scan searches the logs (and, with spans, every exported span) for the
// personal data the run used, and prints how much it read.
func (s *suite) scan(ctx context.Context, spans bool) {
	s.mu.Lock()
	d := newDetector(s.usedSet)
	s.mu.Unlock()
	s.check(len(d.dnis) > 0 && len(d.emails) > 0 && len(d.words) > 0 && len(d.tokens) > 0,
		"the scan has values of every kind to look for (%d DNIs, %d emails, %d names, %d tokens)", len(d.dnis), len(d.emails), len(d.words), len(d.tokens))
	logBytes := s.scanLogs(ctx, d)
	var spanBytes int64
	var n int
	if spans {
		spanBytes, n = s.scanSpans(ctx, d)
	}
	fmt.Printf("  checked %d values (%d DNIs, %d emails, %d names, %d session ids and CSRF tokens) in %d bytes of logs and %d bytes of %d spans\n",
		d.values, len(d.dnis), len(d.emails), len(d.words), len(d.tokens), logBytes, spanBytes, n)
}

// scanLogs reads every container's log (stopped ones too) for the values
// the run used.
func (s *suite) scanLogs(ctx context.Context, d *detector) int64 {
	cs, err := s.docker.allContainers(ctx)
	if err != nil {
		s.fatal(err)
		return 0
	}
	var total int64
	for _, c := range cs {
		if c.Service == "chaos" {
			continue
		}
		logs, err := s.docker.logs(ctx, c.ID)
		if err != nil {
			s.fatal(err)
			continue
		}
		total += int64(len(logs))
		found := d.find(logs)
		s.check(len(found) == 0, "%-34s %9d bytes of log: %s", c.Name, len(logs), orNone(found))
	}
	return total
}

// scanSpans reads every export the stack sent to the span sink (tracestat
// -dump), one OTLP export per line.
func (s *suite) scanSpans(ctx context.Context, d *detector) (int64, int) {
	req, _ := http.NewRequestWithContext(ctx, "GET", s.cfg.spans+"/spans", nil)
	resp, err := s.http.Do(req)
	if err != nil {
		s.fatal(fmt.Errorf("reading the exported spans: %w", err))
		return 0, 0
	}
	defer resp.Body.Close()
	var total int64
	exports, spans := 0, 0
	var found []string
	r := bufio.NewReaderSize(resp.Body, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			total += int64(len(line))
			exports++
			spans += strings.Count(string(line), `"spanId"`)
			if len(found) < 3 {
				found = append(found, d.find(line)...)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			s.fatal(err)
			break
		}
	}
	s.check(spans > 0, "the stack exported %d spans in %d exports", spans, exports)
	s.check(len(found) == 0, "%-34s %9d bytes of spans: %s", "every exported span", total, orNone(found))
	return total, spans
}

func orNone(found []string) string {
	if len(found) == 0 {
		return "none of the run's personal data"
	}
	return "holds " + strings.Join(found, ", ")
}
