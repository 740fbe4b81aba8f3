package rdsauth_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/loandesk/loandesk/internal/rdsauth"
)

func TestTokensAreSignedForTheUserAndHost(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret"}
	tokens, err := rdsauth.Tokens("postgres://loandesk_app@db.example.internal/loandesk?sslmode=require", "sa-east-1",
		func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A presigned "connect" request: host:port?Action=connect&DBUser=…&X-Amz-…
	u, err := url.Parse("https://" + tok)
	if err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	q := u.Query()
	if u.Host != "db.example.internal:5432" || q.Get("Action") != "connect" || q.Get("DBUser") != "loandesk_app" ||
		!strings.Contains(q.Get("X-Amz-Credential"), "/sa-east-1/rds-db/aws4_request") || q.Get("X-Amz-Signature") == "" {
		t.Fatalf("token %q is not an RDS IAM token for loandesk_app at db.example.internal:5432", tok)
	}
	if _, err := rdsauth.Tokens("postgres:///loandesk", "sa-east-1", func(k string) string { return env[k] }); err == nil {
		t.Fatal("a URL without host and user was accepted")
	}
	if _, err := rdsauth.Tokens("postgres://u@h/db", "sa-east-1", func(string) string { return "" }); err == nil {
		t.Fatal("no credentials, yet no error")
	}
}
