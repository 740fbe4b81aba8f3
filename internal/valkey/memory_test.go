package valkey_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/loandesk/loandesk/internal/testenv"
	"github.com/loandesk/loandesk/internal/valkey"
)

// WatchMemory reports what Valkey says of its memory, and a store that
// cannot answer has no series (not its last figures) and one log line.
func TestWatchMemoryReportsEachStoreAndDropsAGoneOne(t *testing.T) {
	s := testenv.Valkey(t)
	opt, err := redis.ParseURL(testenv.ValkeyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(opt)
	defer raw.Close()
	ctx := context.Background()
	maxmem, err := raw.ConfigGet(ctx, "maxmemory").Result()
	if err != nil {
		t.Fatal(err)
	}
	wantMax, _ := strconv.ParseFloat(maxmem["maxmemory"], 64)
	gone, err := valkey.Dial("redis://127.0.0.1:1/0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "m"}, []string{"store", "kind"})
	g.WithLabelValues("limits", "used").Set(123) // a figure from before the outage
	var logs strings.Builder
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		valkey.WatchMemory(wctx, map[string]*valkey.Store{"sessions": s, "limits": gone}, g, slog.New(slog.NewJSONHandler(&logs, nil)), time.Hour)
	}()
	// One round, then it sleeps an hour: wait for its state, not a time.
	for testutil.CollectAndCount(g) != 2 {
		select {
		case <-done:
			t.Fatal("WatchMemory returned early")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
	if used := testutil.ToFloat64(g.WithLabelValues("sessions", "used")); used <= 0 {
		t.Errorf("sessions used %v bytes, want > 0", used)
	}
	if got := testutil.ToFloat64(g.WithLabelValues("sessions", "max")); got != wantMax {
		t.Errorf("sessions max %v, want CONFIG GET's %v", got, wantMax)
	}
	if n := strings.Count(logs.String(), "reading Valkey's memory"); n != 1 || !strings.Contains(logs.String(), `"store":"limits"`) {
		t.Errorf("logs %q: want one line for limits", logs.String())
	}
}
