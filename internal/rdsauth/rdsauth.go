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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
)

// Tokens returns a password source for the user and host of databaseURL.
// Credentials come from the environment (on ECS, the task role's).
func Tokens(databaseURL, region string, getenv func(string) string) (func(context.Context) (string, error), error) {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Host == "" || u.User.Username() == "" {
		return nil, fmt.Errorf("DATABASE_URL must name a host and a user for IAM authentication")
	}
	endpoint := u.Host
	if u.Port() == "" {
		endpoint = net.JoinHostPort(u.Hostname(), "5432")
	}
	creds, err := credentialsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	user := u.User.Username()
	return func(ctx context.Context) (string, error) {
		return auth.BuildAuthToken(ctx, endpoint, region, user, creds)
	}, nil
}

// credentialsFromEnv is the part of the SDK's default chain a container
// needs, without its SSO, profile and instance-metadata machinery (a few
// megabytes of binary): the task role through ECS's container credentials
// endpoint, or static keys in the environment (development).
func credentialsFromEnv(getenv func(string) string) (aws.CredentialsProvider, error) {
	if uri := getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); uri != "" {
		return aws.NewCredentialsCache(endpointcreds.New("http://169.254.170.2" + uri)), nil
	}
	if uri := getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"); uri != "" {
		return aws.NewCredentialsCache(endpointcreds.New(uri, func(o *endpointcreds.Options) {
			o.AuthorizationToken = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
		})), nil
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		return credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")), nil
	}
	return nil, fmt.Errorf("no AWS credentials: on ECS the task role provides them (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI); elsewhere set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
}
