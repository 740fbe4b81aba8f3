package worker

import (
	"testing"
	"time"

	"github.com/loandesk/loandesk/internal/domain"
)

// An attempt lasts at most JobTimeout plus the save of its decision
// (domain.SaveTimeout). River rescues a job running longer than
// RescueAfter, so RescueAfter must be longer, or a live attempt would be
// rescued and run twice, asking the providers twice.
func TestALiveAttemptIsNeverRescued(t *testing.T) {
	for _, c := range []Config{{}, Defaults, {JobTimeout: time.Minute, RescueAfter: 20 * time.Second}, {JobTimeout: 2 * time.Second, RescueAfter: 3 * time.Second}} {
		got := c.withDefaults()
		if got.RescueAfter <= got.JobTimeout+domain.SaveTimeout {
			t.Errorf("%+v: rescue after %v, but an attempt may run %v", c, got.RescueAfter, got.JobTimeout+domain.SaveTimeout)
		}
	}
}
