// Command loandesk-backup is pgBackRest's side of the Swarm data tier, in
// its image (deploy/postgres). Its configuration is PGBACKREST_* environment
// (the stanza, the repository, the TLS ends: deploy/swarm/data.yml), read by
// pgBackRest itself.
//
//	loandesk-backup repository
//
// is the repository host (data.yml's backup service): it serves pgBackRest's
// TLS protocol, so whichever member is primary pushes its WAL here; makes the
// stanza once a primary answers; and takes a backup when it starts, every
// BACKUP_EVERY (24h), and when the archive reaches a new timeline (a
// failover or a switchover: WAL the old primary had not archived is a gap no
// restore can cross, so a backup on the new timeline starts a whole chain
// again): full when the newest full is older than BACKUP_FULL_AFTER (168h)
// or there is none, else differential. A failed one is tried again after
// BACKUP_RETRY (1m), doubling up to BACKUP_EVERY. What is kept is the
// repository's retention (PGBACKREST_REPO1_RETENTION_FULL*).
//
//	loandesk-backup restore
//
// makes a new PostgreSQL as the data was at RESTORE_TIME (deploy/swarm/app.sh
// db-restore): pgBackRest restores the newest backup that ended before it
// into the data directory and replays the archived WAL up to it; then
// PostgreSQL runs on it alone and promotes: no Patroni, no synchronous
// standby, no archiving (a restored cluster must never write into the
// repository of the cluster it came from). A finished restore is marked in
// the volume with its time: started again, it keeps what it restored; asked
// for another time, it refuses; an interrupted one is restored again over
// what it left (pgBackRest's delta).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PGData is where the data tier's members keep their data (patroni.yml).
const PGData = "/var/lib/postgresql/data/pgdata"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	t := &tool{
		log: slog.New(slog.NewTextHandler(os.Stdout, nil)),
		pgbackrest: func(ctx context.Context, args ...string) ([]byte, error) {
			return pgbackrest(ctx, args...).CombinedOutput()
		},
		serve: func(ctx context.Context) error {
			cmd := pgbackrest(ctx, "server")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			return cmd.Run()
		},
		restore: func(ctx context.Context, args ...string) error {
			cmd := pgbackrest(ctx, args...)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			return cmd.Run()
		},
		exec: func(args []string) error {
			path, err := exec.LookPath(args[0])
			if err != nil {
				return err
			}
			return syscall.Exec(path, args, os.Environ())
		},
		now:   time.Now,
		sleep: sleep,
	}
	if err := t.run(ctx, os.Args[1:], os.Getenv); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "loandesk-backup:", err)
		os.Exit(1)
	}
}

// pgbackrest is a pgBackRest command that a stop asks to end (SIGTERM: it
// releases its locks and cleans up), killed only 30 s later.
func pgbackrest(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "pgbackrest", args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

// tool is the program, with what it calls as fields (fakes in tests).
type tool struct {
	log        *slog.Logger
	pgbackrest func(ctx context.Context, args ...string) ([]byte, error) // a command, its output
	serve      func(ctx context.Context) error                           // pgbackrest server, until it stops
	restore    func(ctx context.Context, args ...string) error           // pgbackrest restore, its output passed on
	exec       func(args []string) error                                 // replaces this process
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (t *tool) run(ctx context.Context, args []string, getenv func(string) string) error {
	if len(args) != 1 {
		return errors.New("usage: loandesk-backup repository|restore")
	}
	switch args[0] {
	case "repository":
		every, err := duration(getenv, "BACKUP_EVERY", 24*time.Hour)
		if err != nil {
			return err
		}
		fullAfter, err := duration(getenv, "BACKUP_FULL_AFTER", 7*24*time.Hour)
		if err != nil {
			return err
		}
		retry, err := duration(getenv, "BACKUP_RETRY", time.Minute)
		if err != nil {
			return err
		}
		return t.repository(ctx, every, fullAfter, retry)
	case "restore":
		target := getenv("RESTORE_TIME")
		if target == "" {
			return errors.New("RESTORE_TIME is not set: the moment to restore to, e.g. 2026-12-08 10:00:00+00")
		}
		return t.restoreAt(ctx, target, PGData)
	}
	return fmt.Errorf("no command %q: usage: loandesk-backup repository|restore", args[0])
}

func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 24h", name, v)
	}
	return d, nil
}

// repository serves, makes the stanza, then backs up on its schedule until
// ctx ends. The server is started again whenever it stops.
func (t *tool) repository(ctx context.Context, every, fullAfter, retry time.Duration) error {
	go func() {
		for ctx.Err() == nil {
			err := t.serve(ctx)
			if ctx.Err() != nil {
				return
			}
			t.log.Warn("the TLS server stopped; starting it again in 5 s", "err", err)
			if t.sleep(ctx, 5*time.Second) != nil {
				return
			}
		}
	}()
	// stanza-create is idempotent; it needs a primary, which may still be
	// bootstrapping when the data tier is first made.
	for {
		out, err := t.pgbackrest(ctx, "stanza-create")
		if err == nil {
			break
		}
		t.log.Info("no stanza yet; trying again in 10 s", "err", err, "said", lastLine(out))
		if err := t.sleep(ctx, 10*time.Second); err != nil {
			return err
		}
	}
	t.log.Info("stanza ready")
	var last time.Time // this process's last backup that succeeded
	backoff := retry
	for {
		repo := t.info(ctx)
		why := ""
		switch {
		case last.IsZero():
			why = "start"
		case t.now().Sub(last) >= every:
			why = "schedule"
		case repo.newTimeline():
			why = "new timeline"
		}
		wait := time.Minute // how often the repository is looked at
		if why != "" {
			kind := repo.kind(t.now(), fullAfter)
			t.log.Info("backup starts", "type", kind, "why", why)
			if out, err := t.pgbackrest(ctx, "backup", "--type="+kind); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				t.log.Warn("backup failed; trying again", "type", kind, "in", backoff, "err", err, "said", lastLine(out))
				wait, backoff = backoff, min(2*backoff, every)
			} else {
				t.log.Info("backup done", "type", kind)
				last, backoff = t.now(), retry
			}
		}
		if err := t.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// repo is what pgbackrest info says of the stanza (nil: it could not say).
type repo []struct {
	Archive []struct {
		Max string `json:"max"`
	} `json:"archive"`
	Backup []struct {
		Type    string `json:"type"`
		Archive struct {
			Start string `json:"start"`
		} `json:"archive"`
		Timestamp struct {
			Stop int64 `json:"stop"`
		} `json:"timestamp"`
	} `json:"backup"`
}

func (t *tool) info(ctx context.Context) repo {
	out, err := t.pgbackrest(ctx, "info", "--output=json")
	var r repo
	if err != nil || json.Unmarshal(out, &r) != nil {
		return nil
	}
	return r
}

// kind is "full" when the newest full backup ended more than fullAfter
// before now, or there is none (or pgBackRest cannot say), else "diff".
func (r repo) kind(now time.Time, fullAfter time.Duration) string {
	var newest int64
	for _, s := range r {
		for _, b := range s.Backup {
			if b.Type == "full" && b.Timestamp.Stop > newest {
				newest = b.Timestamp.Stop
			}
		}
	}
	if newest == 0 || now.Sub(time.Unix(newest, 0)) >= fullAfter {
		return "full"
	}
	return "diff"
}

// newTimeline: the archive holds WAL of a newer timeline than the newest
// backup began on (a WAL file's name starts with its timeline, in hex).
func (r repo) newTimeline() bool {
	var archived, backedUp uint64
	var newest int64
	for _, s := range r {
		for _, a := range s.Archive {
			archived = max(archived, timeline(a.Max))
		}
		for _, b := range s.Backup {
			if b.Timestamp.Stop > newest {
				newest, backedUp = b.Timestamp.Stop, timeline(b.Archive.Start)
			}
		}
	}
	return newest > 0 && archived > backedUp
}

func timeline(walFile string) uint64 {
	if len(walFile) < 8 {
		return 0
	}
	tl, _ := strconv.ParseUint(walFile[:8], 16, 32)
	return tl
}

// restoreAt restores into pgdata (once: a marker beside it names the time
// restored to), then becomes PostgreSQL.
func (t *tool) restoreAt(ctx context.Context, target, pgdata string) error {
	marker := filepath.Join(filepath.Dir(pgdata), "loandesk-restored-to")
	done, err := os.ReadFile(marker)
	switch {
	case err == nil && strings.TrimSpace(string(done)) != target:
		return fmt.Errorf("this volume holds a restore to %s, not %s: remove it first", strings.TrimSpace(string(done)), target)
	case err == nil: // restored before: start it
	case !errors.Is(err, os.ErrNotExist):
		return err
	default:
		if err := os.MkdirAll(pgdata, 0o700); err != nil {
			return err
		}
		args := []string{"restore", "--pg1-path=" + pgdata, "--type=time", "--target=" + target,
			"--target-action=promote", "--archive-mode=off"}
		if entries, err := os.ReadDir(pgdata); err == nil && len(entries) > 0 {
			args = append(args, "--delta") // what an interrupted restore left
		}
		if err := t.restore(ctx, args...); err != nil {
			return fmt.Errorf("pgbackrest restore to %s: %w", target, err)
		}
		if err := os.WriteFile(marker, []byte(target+"\n"), 0o600); err != nil {
			return err
		}
	}
	return t.exec([]string{"postgres", "-D", pgdata, "-c", "archive_mode=off", "-c", "synchronous_standby_names=",
		"-c", "listen_addresses=*", "-c", "port=5432", "-c", "unix_socket_directories=/var/run/postgresql"})
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
