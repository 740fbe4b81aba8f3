// Command restoredrill is make test-restore: a backup counts once it has
// been restored. In one container of the data tier's image (deploy/postgres:
// PostgreSQL 17 and pgBackRest), it
//
//  1. makes a cluster that archives its WAL to an encrypted pgBackRest
//     repository, with LoanDesk's schema;
//  2. takes a full backup;
//  3. files -before requests through the adapter (decided ones with their
//     audit event, undecided ones with their decision job), and notes the
//     time T;
//  4. files -after more, then empties the requests table (the wrong
//     TRUNCATE … CASCADE);
//  5. restores the backup to T into a new, empty cluster and starts it;
//  6. checks that exactly the requests filed before T are there, each with
//     its status and reason, its audit event or its job, and no job without
//     its request;
//
// and prints each step's seconds and the row counts. Exit 1 on any mismatch.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loandesk/loandesk/internal/domain"
	"github.com/loandesk/loandesk/internal/postgres"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "restoredrill: FAILED:", err)
		os.Exit(1)
	}
}

// drill is the work directory's layout.
type drill struct {
	dir, conf, repo, logs string
	out                   io.Writer
	start                 time.Time
}

func (d *drill) path(parts ...string) string {
	return filepath.Join(append([]string{d.dir}, parts...)...)
}

func (d *drill) say(format string, args ...any) {
	fmt.Fprintf(d.out, "restoredrill: [%5.1f s] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("restoredrill", flag.ContinueOnError)
	dir := fs.String("dir", "/var/lib/drill", "work directory (empty, owned by the user that runs PostgreSQL)")
	before := fs.Int("before", 200, "requests filed after the backup and before T")
	after := fs.Int("after", 100, "requests filed after T")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d := &drill{dir: *dir, out: out, start: time.Now()}
	d.conf, d.repo, d.logs = d.path("pgbackrest.conf"), d.path("repo"), d.path("log")
	for _, sub := range []string{"repo", "log", "spool", "lock", "run", "run-restored"} {
		if err := os.MkdirAll(d.path(sub), 0o700); err != nil {
			return err
		}
	}
	if err := d.configure(); err != nil {
		return err
	}
	// The restore_command pgBackRest writes into the restored cluster names
	// no configuration file: the environment does, for every pgbackrest.
	if err := os.Setenv("PGBACKREST_CONFIG", d.conf); err != nil {
		return err
	}

	// 1. A cluster that archives every WAL segment to the repository.
	primary := d.path("primary")
	if err := d.cmd("initdb", "-D", primary, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--locale-provider=builtin"); err != nil {
		return err
	}
	if err := appendConf(primary, map[string]string{
		"listen_addresses": "''", "unix_socket_directories": "'" + d.path("run") + "'",
		"wal_level": "replica", "archive_mode": "on",
		"archive_command": "'pgbackrest --config=" + d.conf + " --stanza=loandesk archive-push %p'",
	}); err != nil {
		return err
	}
	if err := d.cmd("pg_ctl", "-D", primary, "-l", d.path("log", "primary.log"), "-w", "start"); err != nil {
		return err
	}
	defer d.cmd("pg_ctl", "-D", primary, "-m", "immediate", "stop") //nolint:errcheck // it may be stopped already
	db, err := d.open(ctx, d.path("run"))
	if err != nil {
		return err
	}
	defer db.Close()
	sql, err := conn(ctx, d.path("run"), "loandesk")
	if err != nil {
		return err
	}
	if err := d.cmd("pgbackrest", "--config="+d.conf, "--stanza=loandesk", "stanza-create"); err != nil {
		return err
	}

	// 2. A full backup.
	t0 := time.Now()
	if err := d.cmd("pgbackrest", "--config="+d.conf, "--stanza=loandesk", "--type=full", "backup"); err != nil {
		return err
	}
	backedUp := time.Now()
	d.say("full backup in %.1f s (encrypted repository, aes-256-cbc)", time.Since(t0).Seconds())

	// 3. Requests filed after the backup, then T.
	filed, err := file(ctx, db, "drill-before", *before)
	if err != nil {
		return err
	}
	// pgBackRest restores to T from a backup that stopped before T, in whole
	// seconds: T must fall in a later second than the backup's end (a busy
	// machine once put both in one second, and the restore found no backup).
	time.Sleep(time.Until(backedUp.Truncate(time.Second).Add(time.Second)))
	var target time.Time
	if err := sql.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&target); err != nil {
		return err
	}
	// check forces the segment holding T's commits out and waits for it.
	if err := d.cmd("pgbackrest", "--config="+d.conf, "--stanza=loandesk", "check"); err != nil {
		return err
	}
	d.say("%d requests filed after the backup; T = %s", len(filed), target.UTC().Format(time.RFC3339Nano))

	// 4. More after T, then the mistake.
	if _, err := file(ctx, db, "drill-after", *after); err != nil {
		return err
	}
	if _, err := sql.Exec(ctx, `TRUNCATE loan_requests CASCADE`); err != nil {
		return err
	}
	var left int
	if err := sql.QueryRow(ctx, `SELECT count(*) FROM loan_requests`).Scan(&left); err != nil || left != 0 {
		return fmt.Errorf("the TRUNCATE left %d rows (%v)", left, err)
	}
	d.say("%d more filed after T, then TRUNCATE loan_requests CASCADE: 0 rows left", *after)
	sql.Close(ctx)
	db.Close()
	if err := d.cmd("pg_ctl", "-D", primary, "-m", "fast", "stop"); err != nil {
		return err
	}

	// 5. Restore to T into a new cluster, which promotes once it gets there.
	restored := d.path("restored")
	t1 := time.Now()
	if err := d.cmd("pgbackrest", "--config="+d.conf, "--stanza=loandesk", "--pg1-path="+restored,
		"--type=time", "--target="+target.UTC().Format("2006-01-02 15:04:05.999999-07"), "--target-action=promote", "restore"); err != nil {
		return err
	}
	restoreSecs := time.Since(t1).Seconds()
	t2 := time.Now()
	if err := d.cmd("pg_ctl", "-D", restored, "-l", d.path("log", "restored.log"), "-w", "-t", "600",
		"-o", "-c archive_mode=off -c unix_socket_directories="+d.path("run-restored"), "start"); err != nil {
		return err
	}
	defer d.cmd("pg_ctl", "-D", restored, "-m", "immediate", "stop") //nolint:errcheck
	// Read-only connections are taken while it replays: wait for the state.
	backSQL, err := waitConn(ctx, d.path("run-restored"), 10*time.Minute)
	if err != nil {
		return err
	}
	defer backSQL.Close(ctx)
	if err := promoted(ctx, backSQL, 10*time.Minute); err != nil {
		return err
	}
	back, err := d.open(ctx, d.path("run-restored"))
	if err != nil {
		return err
	}
	defer back.Close()
	d.say("restored to T in %.1f s; recovered and promoted in %.1f s", restoreSecs, time.Since(t2).Seconds())

	// 6. Exactly the requests filed before T, as they were.
	report, err := verify(ctx, back, backSQL, filed)
	if err != nil {
		return err
	}
	d.say("%s", report)
	d.say("drill passed in %.1f s", time.Since(d.start).Seconds())
	return nil
}

// configure writes pgBackRest's configuration: a local, encrypted repository
// (in production it is S3; docs/operations.md), its passphrase made here.
func (d *drill) configure() error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	conf := strings.Join([]string{
		"[global]",
		"repo1-path=" + d.repo,
		"repo1-cipher-type=aes-256-cbc",
		"repo1-cipher-pass=" + hex.EncodeToString(key),
		"repo1-retention-full=2",
		"start-fast=y",
		"log-path=" + d.logs,
		"lock-path=" + d.path("lock"),
		"spool-path=" + d.path("spool"),
		"log-level-console=warn",
		"",
		"[loandesk]",
		"pg1-path=" + d.path("primary"),
		"pg1-socket-path=" + d.path("run"),
		"pg1-user=postgres",
		"",
	}, "\n")
	return os.WriteFile(d.conf, []byte(conf), 0o600)
}

// cmd runs a command of the image, its output shown only when it fails.
func (d *drill) cmd(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// conn is a plain connection for the drill's own SQL, around the adapter.
func conn(ctx context.Context, socket, dbname string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, "host="+socket+" user=postgres dbname="+dbname+" sslmode=disable")
}

// waitConn connects once the server takes connections.
func waitConn(ctx context.Context, socket string, within time.Duration) (*pgx.Conn, error) {
	deadline := time.Now().Add(within)
	for {
		c, err := conn(ctx, socket, "loandesk")
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// open creates the loandesk database if it is not there, and opens the
// adapter on it with the schema migrated.
func (d *drill) open(ctx context.Context, socket string) (*postgres.DB, error) {
	admin, err := conn(ctx, socket, "postgres")
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'loandesk')`).Scan(&exists); err == nil && !exists {
		_, err = admin.Exec(ctx, `CREATE DATABASE loandesk`)
	}
	admin.Close(ctx)
	if err != nil {
		return nil, err
	}
	db, err := postgres.Open(ctx, "postgres://postgres@/loandesk?host="+socket+"&sslmode=disable", nil)
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := db.Migrate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

func appendConf(dataDir string, settings map[string]string) error {
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	for k, v := range settings {
		if _, err := fmt.Fprintf(f, "%s = %s\n", k, v); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// filing is what was filed, to be found again after the restore.
type filing struct {
	key, code string
	status    domain.Status
	reason    domain.Reason
}

// file saves n requests as the api would: three in four decided (approved,
// rejected by score, rejected by identity), one in four left undecided with
// its decision job.
func file(ctx context.Context, db *postgres.DB, prefix string, n int) ([]filing, error) {
	now := time.Now()
	var out []filing
	for i := range n {
		a := domain.Application{FullName: fmt.Sprintf("Simulacro %s %d", prefix, i), Email: fmt.Sprintf("drill%d@example.com", i),
			DocumentNumber: fmt.Sprintf("30%06d", i), Gender: "F", Amount: 150_000}
		l := &domain.LoanRequest{TrackingCode: domain.NewTrackingCode(), Application: a, Status: domain.StatusInReview,
			IdempotencyKey: fmt.Sprintf("%s-%06d", prefix, i), Fingerprint: a.Fingerprint(), CreatedAt: now, UpdatedAt: now}
		switch i % 4 {
		case 0:
			l.Status, l.Reason, l.DecidedAt = domain.StatusApproved, domain.ReasonScore, &now
		case 1:
			l.Status, l.Reason, l.DecidedAt = domain.StatusRejected, domain.ReasonScore, &now
		case 2:
			l.Status, l.Reason, l.DecidedAt = domain.StatusRejected, domain.ReasonIdentity, &now
		}
		saved, existed, err := db.CreateLoan(ctx, l)
		if err != nil || existed {
			return nil, errors.Join(fmt.Errorf("filing %s (existed %v)", l.IdempotencyKey, existed), err)
		}
		out = append(out, filing{saved.IdempotencyKey, saved.TrackingCode, saved.Status, saved.Reason})
	}
	return out, nil
}

// promoted waits until the restored cluster has replayed to T and taken
// writes: the state, however long the machine takes to get there.
func promoted(ctx context.Context, sql *pgx.Conn, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var recovering bool
		err := sql.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&recovering)
		if err == nil && !recovering {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the restored cluster is still recovering after %s (%v)", within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// verify: the restored table holds exactly the filings made before T, each
// as saved; decided ones have their audit event, undecided ones their one
// decision job; no job is left without its request.
func verify(ctx context.Context, db *postgres.DB, q *pgx.Conn, filed []filing) (string, error) {
	var problems []string
	var total, afterT int
	if err := q.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE idempotency_key LIKE 'drill-after-%') FROM loan_requests`).Scan(&total, &afterT); err != nil {
		return "", err
	}
	if total != len(filed) || afterT != 0 {
		problems = append(problems, fmt.Sprintf("%d requests back (%d of them filed after T), want exactly the %d filed before T", total, afterT, len(filed)))
	}
	undecided, audited := 0, 0
	for _, f := range filed {
		l, err := db.LoanByIdempotencyKey(ctx, f.key)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.key, err))
			continue
		}
		if l.TrackingCode != f.code || l.Status != f.status || l.Reason != f.reason {
			problems = append(problems, fmt.Sprintf("%s came back as %s %s/%s, was %s %s/%s", f.key, l.TrackingCode, l.Status, l.Reason, f.code, f.status, f.reason))
		}
		if l.Undecided() {
			undecided++
			continue
		}
		trail, err := db.AuditTrail(ctx, l.ID)
		if err != nil || len(trail) == 0 {
			problems = append(problems, fmt.Sprintf("%s: decided, without its audit event (%v)", f.key, err))
			continue
		}
		audited++
	}
	var jobs, orphans, doubled int
	if err := q.QueryRow(ctx, `
		SELECT count(*),
		       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM loan_requests r WHERE r.id = (j.args->>'request_id')::bigint)),
		       count(*) - count(DISTINCT j.args->>'request_id')
		FROM river_job j WHERE j.kind = 'decide'`).Scan(&jobs, &orphans, &doubled); err != nil {
		return "", err
	}
	if jobs != undecided || orphans != 0 || doubled != 0 {
		problems = append(problems, fmt.Sprintf("%d decision jobs (%d without a request, %d twice) for %d undecided requests", jobs, orphans, doubled, undecided))
	}
	report := fmt.Sprintf("back: %d requests (0 of those filed after T), %d decided with their audit event, %d undecided with %d jobs, %d orphaned",
		total, audited, undecided, jobs, orphans)
	if len(problems) > 0 {
		return "", fmt.Errorf("%s\n  %s", report, strings.Join(problems, "\n  "))
	}
	return report, nil
}
