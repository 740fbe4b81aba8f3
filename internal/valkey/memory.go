package valkey

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WatchMemory keeps gauge (labels store, kind) at each store's used memory
// and maxmemory, read every `every` until ctx is done: Valkey refuses
// writes once full (noeviction), so an alert must see it coming. A store
// that cannot answer loses its series (no stale figure stands for it) and
// is logged once per outage.
func WatchMemory(ctx context.Context, stores map[string]*Store, gauge *prometheus.GaugeVec, log *slog.Logger, every time.Duration) {
	names := make([]string, 0, len(stores))
	for n := range stores {
		names = append(names, n)
	}
	sort.Strings(names)
	failing := map[string]bool{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, n := range names {
			rctx, cancel := context.WithTimeout(ctx, every)
			used, limit, err := stores[n].Memory(rctx)
			cancel()
			switch {
			case err == nil:
				gauge.WithLabelValues(n, "used").Set(float64(used))
				gauge.WithLabelValues(n, "max").Set(float64(limit))
				failing[n] = false
			case ctx.Err() != nil:
				return
			default:
				gauge.DeleteLabelValues(n, "used")
				gauge.DeleteLabelValues(n, "max")
				if !failing[n] {
					log.WarnContext(ctx, "reading Valkey's memory", "store", n, "err", err)
					failing[n] = true
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
