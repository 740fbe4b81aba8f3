package valkey

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loandesk/loandesk/internal/domain"
)

// The decision queue is a Valkey stream read by a consumer group: a message
// stays pending until a worker acknowledges it, so a worker that dies
// mid-message leaves it for another to claim (at-least-once delivery).
const group = "deciders"

func (s *Store) stream() string { return s.key("pending") }

// Enqueue adds a request to the decision queue.
func (s *Store) Enqueue(ctx context.Context, requestID int64) error {
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.stream(), Values: map[string]any{"request_id": requestID}}).Err()
	if err != nil {
		return fmt.Errorf("queueing request %d: %w", requestID, err)
	}
	return nil
}

// EnsureGroup creates the stream and its consumer group if missing.
func (s *Store) EnsureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.stream(), group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating consumer group: %w", err)
	}
	return nil
}

// ReadNew hands this consumer messages no one has seen yet, waiting up to
// block for some to arrive.
func (s *Store) ReadNew(ctx context.Context, consumer string, count int, block time.Duration) ([]domain.QueuedRequest, error) {
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{s.stream(), ">"}, Count: int64(count), Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading queue: %w", err)
	}
	var out []domain.QueuedRequest
	for _, st := range res {
		for _, m := range st.Messages {
			out = append(out, toMessage(m, 1))
		}
	}
	return out, nil
}

// ClaimDue takes over pending messages whose wait since their last delivery
// exceeds backoff(deliveries): retries of undecided requests and messages
// left behind by crashed workers.
func (s *Store) ClaimDue(ctx context.Context, consumer string, count int, backoff func(id string, deliveries int64) time.Duration) ([]domain.QueuedRequest, error) {
	pend, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: s.stream(), Group: group, Start: "-", End: "+", Count: int64(count),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("listing pending messages: %w", err)
	}
	var out []domain.QueuedRequest
	for _, p := range pend {
		wait := backoff(p.ID, p.RetryCount)
		if p.Idle < wait {
			continue
		}
		// MinIdle makes the claim atomic: if another worker claimed it
		// meanwhile, its idle time reset and this claim returns nothing.
		msgs, err := s.rdb.XClaim(ctx, &redis.XClaimArgs{
			Stream: s.stream(), Group: group, Consumer: consumer, MinIdle: wait, Messages: []string{p.ID},
		}).Result()
		if err != nil {
			return out, fmt.Errorf("claiming %s: %w", p.ID, err)
		}
		for _, m := range msgs {
			out = append(out, toMessage(m, p.RetryCount+1))
		}
		if len(msgs) == 0 {
			// The entry was deleted from the stream but is still pending
			// (trimmed): acknowledge it so it stops coming back.
			_ = s.rdb.XAck(ctx, s.stream(), group, p.ID).Err()
		}
	}
	return out, nil
}

func toMessage(m redis.XMessage, deliveries int64) domain.QueuedRequest {
	msg := domain.QueuedRequest{ID: m.ID, Deliveries: deliveries}
	if v, ok := m.Values["request_id"].(string); ok {
		msg.RequestID, _ = strconv.ParseInt(v, 10, 64)
	}
	return msg
}

// Ack removes a handled message from the queue.
func (s *Store) Ack(ctx context.Context, id string) error {
	pipe := s.rdb.TxPipeline()
	pipe.XAck(ctx, s.stream(), group, id)
	pipe.XDel(ctx, s.stream(), id)
	_, err := pipe.Exec(ctx)
	return err
}

// QueueStats reports the group's lag (messages not yet delivered) and the
// messages delivered but not yet acknowledged.
func (s *Store) QueueStats(ctx context.Context) (lag, pending int64, err error) {
	groups, err := s.rdb.XInfoGroups(ctx, s.stream()).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return 0, 0, nil
		}
		return 0, 0, err
	}
	for _, g := range groups {
		if g.Name == group {
			return max(g.Lag, 0), g.Pending, nil
		}
	}
	return 0, 0, nil
}
