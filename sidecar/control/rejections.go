package control

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Rejections are written in batches: a flood of bad rows becomes a few
// INSERTs into request_log, not one each.
const (
	rejectionQueue = 1024                  // rejections waiting to be written; admission waits when full
	rejectionBatch = 500                   // rows per INSERT at most
	rejectionDelay = 50 * time.Millisecond // how long a rejection waits for others to join its batch
)

// rejecter writes rejections in batches, and knows which sidecars are
// alive to share the rejections of unclaimed requests among them.
type rejecter struct {
	*base
	// rejections wait here for rejectLoop to write them in batches.
	rejections chan *rejection      // pointers: a queue of 1,024 values held 800 KB idle
	markEnded  func(id string) bool // the Runner's: a rejected request is never dispatched again
	mu         sync.Mutex
	// live are the sidecars whose heartbeats were fresh at the last look;
	// rejections are shared among them (ownsRejection).
	live []string
}

// rejectLater queues a request's rejection for rejectLoop and remembers the
// request as ended, so no later read hands it on again meanwhile. A claimed
// request's claim object is deleted once the rejection is written (not
// before: another sidecar could claim and answer it too).
func (s *rejecter) rejectLater(ctx context.Context, r Request, msg string, claimed bool) {
	if !s.markEnded(r.ID) {
		return // answered here already (a cancel stopped it while it was judged): one answer only
	}
	select {
	case s.rejections <- &rejection{r: r, entry: s.logEntry(r, StateRejected, LogEntry{Message: msg}), claimed: claimed}:
	case <-ctx.Done():
	}
}

type rejection struct {
	r       Request
	entry   LogEntry
	claimed bool // its claim object goes once the rejection is written
}

// rejectLoop writes queued rejections, up to rejectionBatch per INSERT.
// On shutdown it writes what is queued; a rejection that could not be
// written is found pending again (after endedMemory, or a restart) and
// rejected then.
func (s *rejecter) rejectLoop(ctx context.Context) error {
	for {
		var batch []*rejection
		select {
		case <-ctx.Done():
			s.writeRejections(context.WithoutCancel(ctx), s.drainRejections(nil))
			return nil
		case first := <-s.rejections:
			batch = append(batch, first)
		}
		deadline := time.After(rejectionDelay)
	collect:
		for len(batch) < rejectionBatch {
			select {
			case r := <-s.rejections:
				batch = append(batch, r)
			case <-deadline:
				break collect
			}
		}
		s.writeRejections(ctx, batch)
	}
}

func (s *rejecter) drainRejections(batch []*rejection) []*rejection {
	for {
		select {
		case r := <-s.rejections:
			batch = append(batch, r)
		default:
			return batch
		}
	}
}

// writeRejections writes rejections, rejectionBatch rows per INSERT at most
// (what shutdown drains can be a whole queue).
func (s *rejecter) writeRejections(ctx context.Context, batch []*rejection) {
	for len(batch) > rejectionBatch {
		s.writeRejectionBatch(ctx, batch[:rejectionBatch])
		batch = batch[rejectionBatch:]
	}
	s.writeRejectionBatch(ctx, batch)
}

func (s *rejecter) writeRejectionBatch(ctx context.Context, batch []*rejection) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	entries := make([]LogEntry, len(batch))
	for i, r := range batch {
		entries[i] = r.entry
	}
	if err := s.cp.AppendLog(ctx, entries...); err != nil {
		s.logger.Error("record rejections; they are answered again on a later read (within 10 minutes, or after a restart)", "count", len(batch), "err", err)
		return
	}
	var claimed []string
	for _, r := range batch {
		s.obs.RequestState(string(r.r.Action), StateRejected)
		if r.claimed {
			claimed = append(claimed, r.r.ID)
		}
	}
	if len(claimed) > 0 {
		if err := s.claims.Drop(ctx, claimed); err != nil {
			s.logger.Warn("delete the claims of rejected requests; a lifecycle rule will expire them", "count", len(claimed), "err", err)
		}
	}
}

// claimRejection claims a rejection before it is written, when a twin
// shares the name ownsRejection chose: the claim picks one of the two. The
// claim is kept (not dropped after the answer), so the other never
// answers it on a read that still sees it pending. It reports whether this
// run answers it, and, when the twin holds it, until when to leave it.
func (s *rejecter) claimRejection(ctx context.Context, id string) (answers bool, twinsUntil time.Time) {
	won, err := s.claims.Claim(ctx, id)
	var ownName *coord.OwnNameClaimError
	switch {
	case errors.As(err, &ownName):
		return false, ownName.Until
	case err != nil:
		s.logger.Warn("claim a rejection; will retry", "request", id, "err", err)
		return false, time.Time{}
	}
	return won, time.Time{}
}

// ownsRejection reports whether this sidecar answers a rejected request.
// Without a claim object two sidecars would both answer it, so each
// request's rejection belongs to one live sidecar, chosen by rendezvous
// hashing over the sidecars whose heartbeats are fresh: every sidecar with
// the same view of who is alive picks the same one, and when one stops, its
// share passes to the others once its heartbeat expires.
func (s *rejecter) ownsRejection(requestID string) bool {
	s.mu.Lock()
	live := slices.Clone(s.live)
	s.mu.Unlock()
	if !slices.Contains(live, s.opts.Instance) {
		live = append(live, s.opts.Instance)
	}
	var chosen string
	var best uint64
	for _, instance := range live {
		// SHA-256, not FNV: every sidecar must compute the same weights, and
		// FNV spreads ids that differ only at the end unevenly.
		sum := sha256.Sum256([]byte(instance + "\x00" + requestID))
		if w := binary.BigEndian.Uint64(sum[:8]); chosen == "" || w > best {
			chosen, best = instance, w
		}
	}
	return chosen == s.opts.Instance
}
