package main

import (
	"slices"
	"testing"
)

// The detector finds a DNI standing alone, with dots, in a query or a JSON
// value, and not one whose digits happen to sit inside a random hex id
// (a request id failed a CI run that way).
func TestTheDetectorFindsADNIButNotInsideAnId(t *testing.T) {
	d := newDetector(usedValues{DNIs: []string{"40005950"}})
	for _, c := range []struct {
		text string
		want bool
	}{
		{`"document_number":"40005950"`, true},
		{`GET /api/v1/admin/requests?q=40005950 200`, true},
		{`q=40.005.950`, true},
		{`dni40005950`, true},
		{`"request_id":"bdd6eb5f7edc814f7da1c6f40005950d"`, false},
		{`rid=bdd6eb5f7edc814f7da1c6f40005950d`, false},
		{`1765140005950123`, false},
	} {
		if got := len(d.find([]byte(c.text))) > 0; got != c.want {
			t.Errorf("find(%q) = %v, want %v", c.text, d.find([]byte(c.text)), c.want)
		}
	}
	if found := d.find([]byte(`q=40005950 and 40.005.950`)); !slices.Contains(found, "DNI 40005950") {
		t.Errorf("found %q", found)
	}
}
