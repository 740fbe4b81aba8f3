package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/valkey"
)

const adminUsage = `usage: loandesk admin add [--password-stdin] EMAIL | disable EMAIL | enable EMAIL | unlock EMAIL | reset-mfa EMAIL | list | events [--limit N] [EMAIL]

  add       creates an account; its password is read from the first line of
            stdin (--password-stdin) or made and printed once
  disable   refuses the account's logins and ends its sessions at their next request
  enable    lets a disabled account log in again
  unlock    gives the account its login budget for unknown browsers back (guesses
            spent it, and its admin has no browser it knows yet)
  reset-mfa removes the account's two-step login (TOTP and recovery codes), for an
            admin who lost both, and ends its sessions; they set it up again at
            their next login
  list      every account, whether it has two-step login, whether it is disabled
  events    the security log, newest first: logins and account changes, of one
            account or of all (an email that is no account's, and the caller's
            address, appear as pseudonyms)

Run it where the api's environment is (DATABASE_URL, its secrets): docker compose exec api
loandesk admin …; on Swarm, docker exec into an api task. Its output is not a log.`

// admin is `loandesk admin`: the operators' command for admin accounts.
func admin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(adminUsage)
	}
	fs := flag.NewFlagSet("loandesk admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fromStdin := false
	limit := 0
	switch args[0] {
	case "add":
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from stdin's first line")
	case "events":
		fs.IntVar(&limit, "limit", 50, "how many events, at most 1000")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, adminUsage)
	}
	wantArgs := map[string]int{"add": 1, "disable": 1, "enable": 1, "unlock": 1, "reset-mfa": 1, "list": 0}
	n, known := wantArgs[args[0]]
	if args[0] == "events" {
		n, known = min(fs.NArg(), 1), limit >= 1 && limit <= 1000
	}
	if !known || fs.NArg() != n {
		return errors.New(adminUsage)
	}
	password := ""
	if fromStdin {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the password from stdin: %w", err)
		}
		if password = strings.TrimRight(line, "\r\n"); password == "" {
			return errors.New("--password-stdin: stdin's first line is empty")
		}
	}
	// unlock also reaches the limits' Valkey, whose keys SESSION_KEY hashes.
	unlock := args[0] == "unlock"
	cfg, err := loadConfig(getenv, need{db: true, valkey: unlock, admin: unlock})
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts := domain.Accounts{Store: db}
	switch args[0] {
	case "add":
		a, pw, err := accounts.Add(ctx, fs.Arg(0), password)
		if err != nil {
			return explain(err)
		}
		if fromStdin {
			_, err = fmt.Fprintf(stdout, "added %s\n", a.Email)
		} else {
			_, err = fmt.Fprintf(stdout, "added %s; its password, shown this once:\n%s\n", a.Email, pw)
		}
		return err
	case "disable", "enable":
		do := accounts.Disable
		if args[0] == "enable" {
			do = accounts.Enable
		}
		a, err := do(ctx, fs.Arg(0))
		if err != nil {
			return explain(err)
		}
		_, err = fmt.Fprintf(stdout, "%s %sd\n", a.Email, args[0])
		return err
	case "reset-mfa":
		a, err := accounts.ResetMFA(ctx, fs.Arg(0))
		if err != nil {
			return explain(err)
		}
		_, err = fmt.Fprintf(stdout, "%s: two-step login reset, sessions ended\n", a.Email)
		return err
	case "unlock":
		limits, err := valkey.Dial(cfg.LimitsURL, cfg.LimitsPass, []byte(cfg.SessionKey))
		if err != nil {
			return fmt.Errorf("LIMITS_VALKEY_URL: %w", err)
		}
		defer limits.Close()
		auth := &domain.Auth{Admins: db, Limiter: limits.WithPrefix(cfg.ValkeyPrefix), Log: db}
		a, err := auth.Unlock(ctx, fs.Arg(0))
		if err != nil {
			return explain(err)
		}
		_, err = fmt.Fprintf(stdout, "%s unlocked\n", a.Email)
		return err
	case "events":
		var id int64
		if fs.NArg() == 1 {
			a, err := db.AdminByEmail(ctx, strings.ToLower(strings.TrimSpace(fs.Arg(0))))
			if err != nil {
				return explain(err)
			}
			id = a.ID
		}
		events, err := db.SecurityEvents(ctx, domain.AuditFilter{AdminID: id, Limit: limit})
		if err != nil {
			return explain(err)
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "AT\tEVENT\tADMIN\tSUBJECT\tCLIENT\tREQUEST\tSEARCH")
		for _, e := range events {
			request := "-"
			if e.RequestID != nil {
				request = strconv.FormatInt(*e.RequestID, 10)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Kind, cmp.Or(e.AdminEmail, "-"),
				cmp.Or(e.Subject, "-"), cmp.Or(e.Client, "-"), request, cmp.Or(e.Detail, "-"))
		}
		return w.Flush()
	default: // list
		all, err := accounts.List(ctx)
		if err != nil {
			return explain(err)
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "EMAIL\tCREATED\tTOTP\tDISABLED")
		for _, a := range all {
			disabled, totp := "-", "-"
			if a.DisabledAt != nil {
				disabled = a.DisabledAt.UTC().Format(time.RFC3339)
			}
			if a.MFAEnrolledAt != nil {
				totp = a.MFAEnrolledAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", a.Email, a.CreatedAt.UTC().Format(time.RFC3339), totp, disabled)
		}
		return w.Flush()
	}
}

// explain gives a domain error's message alone (it is written for a
// person); anything else as it is.
func explain(err error) error {
	if e, ok := domain.AsError(err); ok && e.Code != domain.EINTERNAL {
		return errors.New(e.Message)
	}
	return err
}
