// Package rdsauth makes the passwords of RDS IAM database authentication:
// a token signed with the task's AWS credentials (its IAM role), valid for
// 15 minutes, made afresh for every new database connection. Nothing to
// rotate, nothing injected at start that could go stale.
package rdsauth

import (
	"context"
	"fmt"
	"net"
	"net/url"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
)

// Tokens returns a password source for the user and host of databaseURL.
// Credentials come from the standard chain (on ECS, the task role).
func Tokens(ctx context.Context, databaseURL, region string) (func(context.Context) (string, error), error) {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Host == "" || u.User.Username() == "" {
		return nil, fmt.Errorf("DATABASE_URL must name a host and a user for IAM authentication")
	}
	endpoint := u.Host
	if u.Port() == "" {
		endpoint = net.JoinHostPort(u.Hostname(), "5432")
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("loading AWS credentials: %w", err)
	}
	user := u.User.Username()
	return func(ctx context.Context) (string, error) {
		return auth.BuildAuthToken(ctx, endpoint, region, user, cfg.Credentials)
	}, nil
}
