package postgres

import (
	"context"

	"github.com/loandesk/loandesk/internal/domain"
)

// QueueDepth counts the decision jobs not done yet, from River's table: the
// number the worker's metrics and its autoscaling on AWS follow.
func (db *DB) QueueDepth(ctx context.Context) (domain.QueueDepth, error) {
	var q domain.QueueDepth
	err := db.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE state = 'available'),
		       count(*) FILTER (WHERE state IN ('scheduled', 'retryable', 'pending')),
		       count(*) FILTER (WHERE state = 'running')
		FROM river_job
		WHERE kind = $1 AND state IN ('available', 'scheduled', 'retryable', 'pending', 'running')`,
		domain.DecisionJob{}.Kind()).Scan(&q.Ready, &q.Waiting, &q.Running)
	return q, translate(err, "queue depth")
}
