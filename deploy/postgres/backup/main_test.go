package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)

// fake is pgBackRest as a script of answers; it records every call.
type fake struct {
	mu     sync.Mutex
	calls  []string
	answer func(call string) ([]byte, error)
	sleeps []time.Duration
	stopAt int // the sleep that ends the run
}

func (f *fake) tool(cancel context.CancelFunc) *tool {
	return &tool{
		log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		pgbackrest: func(_ context.Context, args ...string) ([]byte, error) {
			call := strings.Join(args, " ")
			f.mu.Lock()
			f.calls = append(f.calls, call)
			f.mu.Unlock()
			return f.answer(call)
		},
		serve: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		now:   func() time.Time { return now },
		sleep: func(ctx context.Context, d time.Duration) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if d == 5*time.Second { // the server's restart: not part of the schedule
				return nil
			}
			f.sleeps = append(f.sleeps, d)
			if len(f.sleeps) == f.stopAt {
				cancel()
				return context.Canceled
			}
			return nil
		},
	}
}

func info(fullsAgo ...time.Duration) []byte {
	var b []string
	for _, ago := range fullsAgo {
		b = append(b, fmt.Sprintf(`{"type":"full","timestamp":{"start":1,"stop":%d}}`, now.Add(-ago).Unix()))
	}
	b = append(b, fmt.Sprintf(`{"type":"diff","timestamp":{"start":1,"stop":%d}}`, now.Unix()))
	return []byte(`[{"name":"loandesk","backup":[` + strings.Join(b, ",") + `]}]`)
}

// The repository host waits for a primary to make the stanza, then backs
// up at once and on its schedule: full when the newest full is a week old
// or there is none, differential otherwise; a failed backup is tried again
// sooner.
func TestTheRepositoryBacksUpOnItsSchedule(t *testing.T) {
	infos := [][]byte{nil, info(8 * 24 * time.Hour), info(2*24*time.Hour, 9*24*time.Hour), info(time.Hour)}
	stanzaTries, backups := 0, 0
	f := &fake{stopAt: 6}
	f.answer = func(call string) ([]byte, error) {
		switch {
		case call == "stanza-create":
			if stanzaTries++; stanzaTries < 3 {
				return []byte("ERROR: [056]: unable to find primary cluster\nHINT: are all available clusters in recovery?"), errors.New("exit status 56")
			}
			return nil, nil
		case call == "info --output=json":
			i := infos[0]
			infos = infos[1:]
			if i == nil {
				return nil, errors.New("exit status 55")
			}
			return i, nil
		case strings.HasPrefix(call, "backup"):
			if backups++; backups == 3 {
				return []byte("ERROR: [082]: WAL segment was not archived before the 60000ms timeout"), errors.New("exit status 82")
			}
			return nil, nil
		}
		return nil, fmt.Errorf("unexpected call %q", call)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := f.tool(cancel).run(ctx, []string{"repository"}, func(k string) string {
		return map[string]string{"BACKUP_EVERY": "12h"}[k]
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v, want it to end with its context", err)
	}
	wantCalls := []string{
		"stanza-create", "stanza-create", "stanza-create",
		"info --output=json", "backup --type=full", // no info: a full one
		"info --output=json", "backup --type=full", // the newest full is 8 days old
		"info --output=json", "backup --type=diff", // 2 days: fails
		"info --output=json", "backup --type=diff",
	}
	wantSleeps := []time.Duration{10 * time.Second, 10 * time.Second, 12 * time.Hour, 12 * time.Hour, time.Minute, 12 * time.Hour}
	if !reflect.DeepEqual(f.calls, wantCalls) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(wantCalls, "\n"))
	}
	if !reflect.DeepEqual(f.sleeps, wantSleeps) {
		t.Errorf("sleeps %v, want %v", f.sleeps, wantSleeps)
	}
}

func TestTheScheduleRefusesWhatItCannotRead(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"BACKUP_EVERY":      {"BACKUP_EVERY": "86400"},
		"BACKUP_FULL_AFTER": {"BACKUP_FULL_AFTER": "-1h"},
		"BACKUP_RETRY":      {"BACKUP_RETRY": "soon"},
	} {
		f := &fake{answer: func(string) ([]byte, error) { return nil, nil }}
		err := f.tool(func() {}).run(context.Background(), []string{"repository"}, func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: want an error naming %s, got %v", env, name, err)
		}
		if len(f.calls) != 0 {
			t.Errorf("%v: pgBackRest was called: %v", env, f.calls)
		}
	}
}

// A restore runs once, into the empty data directory, to the time asked
// for, promoting at the end; then PostgreSQL runs on it without archiving
// or a synchronous standby. Started again, it does not restore over it.
func TestARestoreRunsOnceThenPostgreSQLWithoutArchiving(t *testing.T) {
	pgdata := filepath.Join(t.TempDir(), "pgdata")
	var restores [][]string
	var execs [][]string
	tl := &tool{
		restore: func(_ context.Context, args ...string) error {
			restores = append(restores, args)
			return os.WriteFile(filepath.Join(pgdata, "PG_VERSION"), []byte("17\n"), 0o600)
		},
		exec: func(args []string) error { execs = append(execs, args); return nil },
	}
	for range 2 {
		if err := tl.restoreAt(context.Background(), "2026-12-08 10:00:00+00", pgdata); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"restore", "--pg1-path=" + pgdata, "--type=time", "--target=2026-12-08 10:00:00+00", "--target-action=promote", "--archive-mode=off"}
	if len(restores) != 1 || !reflect.DeepEqual(restores[0], want) {
		t.Errorf("restores %q, want one: %q", restores, want)
	}
	if len(execs) != 2 {
		t.Fatalf("PostgreSQL started %d times, want 2", len(execs))
	}
	cmd := strings.Join(execs[0], " ")
	for _, w := range []string{"postgres -D " + pgdata, "archive_mode=off", "synchronous_standby_names= "} {
		if !strings.Contains(cmd, w) {
			t.Errorf("PostgreSQL runs as %q: want %q in it", cmd, w)
		}
	}

	failing := &tool{
		restore: func(context.Context, ...string) error { return errors.New("exit status 1") },
		exec:    func([]string) error { t.Error("PostgreSQL started after a failed restore"); return nil },
	}
	if err := failing.restoreAt(context.Background(), "2026-12-08 10:00:00+00", filepath.Join(t.TempDir(), "pgdata")); err == nil {
		t.Error("a failed restore: want an error")
	}
	if err := (&tool{}).run(context.Background(), []string{"restore"}, func(string) string { return "" }); err == nil ||
		!strings.Contains(err.Error(), "RESTORE_TIME") {
		t.Errorf("no RESTORE_TIME: want an error naming it, got %v", err)
	}
}
