package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// What the rehearsal gives pgBackRest's TLS ends: a key pair that loads, a
// certificate that a client verifying the chain and the host name accepts
// for every member and no other name, that a server accepts as a client's,
// and whose common name is the one a server admits.
func TestTheCertificateVerifiesForEachNameOnlyBothWays(t *testing.T) {
	dir := t.TempDir()
	if err := run([]string{"-out", dir, "-names", "pg1,pg2,pg3", "-cn", "loandesk-backup"}); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for name, ok := range map[string]bool{"pg1": true, "pg2": true, "pg3": true, "valkey": false} {
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name})
		if (err == nil) != ok {
			t.Errorf("verify for %s: %v, want ok=%v", name, err, ok)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("not a client certificate: %v", err)
	}
	if leaf.Subject.CommonName != "loandesk-backup" {
		t.Errorf("common name %q, want loandesk-backup", leaf.Subject.CommonName)
	}
	if err := run([]string{"-out", dir}); err == nil {
		t.Error("no -names: want an error")
	}
}
