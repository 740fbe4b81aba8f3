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
	"testing"
	"time"
)

var epoch = time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)

type backup struct {
	kind     string
	at       time.Duration // after epoch
	timeline int
}

// fakeRepo is pgBackRest and its repository as a model: backups are kept
// with the timeline the archive was on, the clock moves only when the tool
// sleeps, and events happen at their times (a failover, a failing backup).
type fakeRepo struct {
	now         time.Time
	timeline    int
	backups     []backup
	stanzaFails int
	failAt      map[time.Duration]int // backups refused from this time on, this many times
	events      map[time.Duration]func(*fakeRepo)
	until       time.Duration
	cancel      context.CancelFunc
}

func (f *fakeRepo) answer(call string) ([]byte, error) {
	switch {
	case call == "stanza-create":
		if f.stanzaFails > 0 {
			f.stanzaFails--
			return []byte("ERROR: [056]: unable to find primary cluster\nHINT: are all available clusters in recovery?"), errors.New("exit status 56")
		}
		return nil, nil
	case call == "info --output=json":
		var b []string
		for _, k := range f.backups {
			b = append(b, fmt.Sprintf(`{"type":%q,"archive":{"start":"%08X0000000000000002"},"timestamp":{"start":1,"stop":%d}}`,
				k.kind, k.timeline, epoch.Add(k.at).Unix()))
		}
		return []byte(fmt.Sprintf(`[{"name":"loandesk","archive":[{"id":"17-1","max":"%08X000000000000000A"}],"backup":[%s]}]`,
			f.timeline, strings.Join(b, ","))), nil
	case strings.HasPrefix(call, "backup --type="):
		for from, n := range f.failAt {
			if f.now.Sub(epoch) >= from && n > 0 {
				f.failAt[from] = n - 1
				return []byte("ERROR: [082]: WAL segment was not archived before the 60000ms timeout"), errors.New("exit status 82")
			}
		}
		f.backups = append(f.backups, backup{strings.TrimPrefix(call, "backup --type="), f.now.Sub(epoch), f.timeline})
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected call %q", call)
}

func (f *fakeRepo) tool() *tool {
	return &tool{
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		pgbackrest: func(_ context.Context, args ...string) ([]byte, error) { return f.answer(strings.Join(args, " ")) },
		serve:      func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		now:        func() time.Time { return f.now },
		sleep: func(ctx context.Context, d time.Duration) error {
			if d == 5*time.Second { // the server's restart: another goroutine, not the schedule
				return nil
			}
			for at, event := range f.events {
				if f.now.Sub(epoch) < at && f.now.Add(d).Sub(epoch) >= at {
					event(f)
				}
			}
			f.now = f.now.Add(d)
			if f.now.Sub(epoch) >= f.until {
				f.cancel()
				return context.Canceled
			}
			return nil
		},
	}
}

// The repository host waits for a primary to make the stanza, then backs
// up at once, on its schedule, and after a failover (a new timeline in the
// archive); a failed backup is tried again sooner, backing off.
func TestTheRepositoryBacksUpOnItsScheduleAndAfterAFailover(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeRepo{now: epoch, timeline: 1, stanzaFails: 2, until: 26 * time.Hour, cancel: cancel,
		failAt: map[time.Duration]int{12 * time.Hour: 2},
		events: map[time.Duration]func(*fakeRepo){30 * time.Minute: func(f *fakeRepo) { f.timeline = 2 }}}
	err := f.tool().run(ctx, []string{"repository"}, func(k string) string { return map[string]string{"BACKUP_EVERY": "12h"}[k] })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v, want it to end with its context", err)
	}
	want := []backup{
		{"full", 20 * time.Second, 1},                               // after two stanza tries, 10 s apart
		{"diff", 30*time.Minute + 20*time.Second, 2},                // the failover at 30 min, seen at the next look
		{"diff", 12*time.Hour + 33*time.Minute + 20*time.Second, 2}, // due at 12h30m20s: refused twice, then after 1 + 2 min
		{"diff", 24*time.Hour + 33*time.Minute + 20*time.Second, 2}, // 12 h after the last that succeeded
	}
	if !reflect.DeepEqual(f.backups, want) {
		t.Errorf("backups:\n%v\nwant:\n%v", f.backups, want)
	}
}

func TestAFullBackupOnceTheNewestFullIsAWeekOld(t *testing.T) {
	now := epoch.Add(30 * 24 * time.Hour)
	r := func(fullAgo ...time.Duration) repo {
		f := &fakeRepo{now: now, timeline: 1}
		for _, ago := range fullAgo {
			f.backups = append(f.backups, backup{"full", 30*24*time.Hour - ago, 1})
		}
		f.backups = append(f.backups, backup{"diff", 30 * 24 * time.Hour, 1})
		tl := &tool{pgbackrest: func(_ context.Context, args ...string) ([]byte, error) { return f.answer(strings.Join(args, " ")) }}
		return tl.info(context.Background())
	}
	for name, c := range map[string]struct {
		repo repo
		want string
	}{
		"no full":              {r(), "full"},
		"a full 8 days old":    {r(8 * 24 * time.Hour), "full"},
		"a full 2 days old":    {r(2*24*time.Hour, 9*24*time.Hour), "diff"},
		"pgBackRest said none": {nil, "full"},
	} {
		if got := c.repo.kind(now, 7*24*time.Hour); got != c.want {
			t.Errorf("%s: %s, want %s", name, got, c.want)
		}
	}
}

func TestTheScheduleRefusesWhatItCannotRead(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"BACKUP_EVERY":      {"BACKUP_EVERY": "86400"},
		"BACKUP_FULL_AFTER": {"BACKUP_FULL_AFTER": "-1h"},
		"BACKUP_RETRY":      {"BACKUP_RETRY": "soon"},
	} {
		called := false
		tl := &tool{pgbackrest: func(context.Context, ...string) ([]byte, error) { called = true; return nil, nil }}
		err := tl.run(context.Background(), []string{"repository"}, func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: want an error naming %s, got %v", env, name, err)
		}
		if called {
			t.Errorf("%v: pgBackRest was called", env)
		}
	}
}

// A restore runs once, to the time asked for, promoting at the end; then
// PostgreSQL runs on it without archiving or a synchronous standby. Started
// again, it does not restore over it; asked for another time, it refuses; an
// interrupted restore is done again over what it left (--delta).
func TestARestoreRunsOnceThenPostgreSQLWithoutArchiving(t *testing.T) {
	const at = "2026-12-08 10:00:00+00"
	pgdata := filepath.Join(t.TempDir(), "pgdata")
	var restores [][]string
	var execs [][]string
	fail := false
	tl := &tool{
		restore: func(_ context.Context, args ...string) error {
			restores = append(restores, args)
			if err := os.WriteFile(filepath.Join(pgdata, "PG_VERSION"), []byte("17\n"), 0o600); err != nil {
				return err
			}
			if fail {
				return errors.New("exit status 1")
			}
			return nil
		},
		exec: func(args []string) error { execs = append(execs, args); return nil },
	}
	fail = true // interrupted: PG_VERSION written, no marker
	if err := tl.restoreAt(context.Background(), at, pgdata); err == nil || len(execs) != 0 {
		t.Fatalf("a failed restore: %v, PostgreSQL started %d times; want an error and none", err, len(execs))
	}
	fail = false
	for range 2 {
		if err := tl.restoreAt(context.Background(), at, pgdata); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"restore", "--pg1-path=" + pgdata, "--type=time", "--target=" + at, "--target-action=promote", "--archive-mode=off"}
	if len(restores) != 2 || !reflect.DeepEqual(restores[0], want) || !reflect.DeepEqual(restores[1], append(want, "--delta")) {
		t.Errorf("restores %q, want %q then the same with --delta", restores, want)
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
	if err := tl.restoreAt(context.Background(), "2026-12-09 10:00:00+00", pgdata); err == nil ||
		!strings.Contains(err.Error(), "holds a restore to "+at) || len(execs) != 2 {
		t.Errorf("another time on the same volume: %v; want a refusal naming the time it holds", err)
	}
	if err := (&tool{}).run(context.Background(), []string{"restore"}, func(string) string { return "" }); err == nil ||
		!strings.Contains(err.Error(), "RESTORE_TIME") {
		t.Errorf("no RESTORE_TIME: want an error naming it, got %v", err)
	}
}
