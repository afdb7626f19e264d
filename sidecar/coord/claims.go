package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// A request is executed at most once, even with several sidecars reading one
// control table: before running it, a sidecar writes a claim object with a
// conditional PUT, which exactly one of them wins. ClickHouse tables have no
// compare-and-set; S3 conditional writes do.
//
// A sidecar's id is stable across restarts (host and listen address), so a
// restarted sidecar resumes its own claims, once it has seen its run
// before the restart gone (claims_runs.go). Another sidecar takes a claim
// over only when its holder's heartbeat object has expired.

// Heartbeat timing: a sidecar writes its heartbeat every HeartbeatEvery and
// it lives HeartbeatTTL, three beats, so one slow PUT never makes a live
// sidecar look dead.
const (
	HeartbeatEvery = 10 * time.Second
	HeartbeatTTL   = 3 * HeartbeatEvery
)

type claim struct {
	Instance string    `json:"instance"`
	Run      string    `json:"run,omitempty"` // Holder.Run of the claimer; absent in claims of before 2026-12
	At       time.Time `json:"at"`
}

type heartbeat struct {
	Instance  string    `json:"instance"`
	Run       string    `json:"run,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Claims is the request runner's side of the prefix: request claims, the
// sidecars' heartbeats, and the schedule's slots, for one sidecar.
type Claims struct {
	store    ObjectStore
	layout   Layout
	instance string
	run      string // this process's (ProcessRun)
	logger   *slog.Logger
	now      func() time.Time
	runs     ownRuns
	clock    clockTeller // heartbeats tell the log of this host's clock being off
}

// NewClaims returns the claims of the sidecar instance (its stable name)
// under layout's prefix of store, for this process's run.
func NewClaims(store ObjectStore, layout Layout, instance string, logger *slog.Logger) *Claims {
	return &Claims{store: store, layout: layout, instance: instance, run: ProcessRun, logger: logger, now: OnStoreClock(store, time.Now),
		runs: ownRuns{beating: make(chan struct{}, 1), seen: map[string]time.Time{}}}
}

// SetClock replaces this host's clock, which heartbeats are written and
// judged by on the store's clock (OnStoreClock); tests move it.
func (c *Claims) SetClock(now func() time.Time) { c.now = OnStoreClock(c.store, now) }

// SetRun replaces this process's run, before the claims are first used;
// tests restart a sidecar, or start its twin, in one process.
func (c *Claims) SetRun(run string) { c.run = run }

// Claim reports whether this sidecar may run the request: it wrote the
// claim first, the claim is this run's, or the claim's holder stopped
// (its heartbeat expired, or it was this sidecar's run before a restart)
// and this sidecar took it over first. A claim of this sidecar's name by
// a run not yet seen gone is an *OwnNameClaimError.
func (c *Claims) Claim(ctx context.Context, requestID string) (bool, error) {
	if err := c.beatFirst(ctx); err != nil {
		return false, err
	}
	data, err := json.Marshal(claim{Instance: c.instance, Run: c.run, At: c.now().UTC()})
	if err != nil {
		return false, fmt.Errorf("encode claim: %w", err)
	}
	key := c.layout.ClaimKey(requestID)
	_, err = c.store.Put(ctx, key, data, PutCondition{IfNoneMatch: true})
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, ErrPreconditionFailed) {
		return false, fmt.Errorf("claim request %s: %w", requestID, err)
	}
	existing, etag, err := c.store.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("read claim of request %s: %w", requestID, err)
	}
	var cl claim
	ownName := json.Unmarshal(existing, &cl) == nil && cl.Instance == c.instance
	switch {
	case ownName && cl.Run == c.run:
		return true, nil
	case ownName:
		if err := c.ownRunGone(ctx, requestID, cl.Run); err != nil {
			return false, err
		}
		c.logger.Info("taking over the request of an earlier or stopped run of this sidecar's name", "request", requestID, "run", cl.Run)
	default:
		if alive, err := c.instanceAlive(ctx, cl.Instance); err != nil || alive {
			return false, err
		}
		c.logger.Warn("taking over the request of a sidecar that stopped", "request", requestID, "holder", cl.Instance)
	}
	if _, err := c.store.Put(ctx, key, data, PutCondition{IfMatch: etag}); err != nil {
		// Another sidecar took it over first; or the claim was dropped
		// (S3 answers If-Match on a missing key 404): its request was
		// answered, and is not to be run.
		if ConditionLost(err) {
			return false, nil
		}
		return false, fmt.Errorf("take over claim of request %s: %w", requestID, err)
	}
	return true, nil
}

// Drop deletes the claims of requests that are answered and will never
// run (rejected ones); a failure leaves them to a lifecycle rule.
func (c *Claims) Drop(ctx context.Context, requestIDs []string) error {
	keys := make([]string, len(requestIDs))
	for i, id := range requestIDs {
		keys[i] = c.layout.ClaimKey(id)
	}
	if err := c.store.Delete(ctx, keys); err != nil {
		return fmt.Errorf("delete %d claims: %w", len(keys), err)
	}
	return nil
}

// LiveSidecars lists the sidecars whose heartbeat objects are fresh.
func (c *Claims) LiveSidecars(ctx context.Context) ([]string, error) {
	listing, err := c.store.List(ctx, c.layout.HeartbeatsRoot(), false) // this plane's, not the folders of others
	if err != nil {
		return nil, fmt.Errorf("list heartbeats: %w", err)
	}
	var live []string
	for _, o := range listing.Objects {
		data, _, err := c.store.Get(ctx, o.Key)
		if errors.Is(err, ErrNotFound) {
			continue // gone since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("read heartbeat %s: %w", o.Key, err) // a partial list would leave out live ones
		}
		var hb heartbeat
		if json.Unmarshal(data, &hb) == nil && c.now().Before(hb.ExpiresAt) {
			live = append(live, hb.Instance)
		}
	}
	return live, nil
}

func (c *Claims) instanceAlive(ctx context.Context, instance string) (bool, error) {
	if instance == "" {
		return false, nil
	}
	data, _, err := c.store.Get(ctx, c.layout.HeartbeatKey(instance))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read heartbeat of %s: %w", instance, err)
	}
	var hb heartbeat
	if err := json.Unmarshal(data, &hb); err != nil {
		return false, nil
	}
	return c.now().Before(hb.ExpiresAt), nil
}

// Slot is one time slot of a schedule for a database (TakeSlot).
type Slot struct {
	key string
	// EndsIn is how long the slot lasted yet when it was tried, on the
	// store's clock: no other slot can be taken before.
	EndsIn time.Duration
}

// TakeSlot tries the current slot of schedule for database, slots being
// every long: a conditional write of the slot's key lets exactly one
// sidecar (once) make the slot's request. It reports whether this sidecar
// took it, and the slot either way.
func (c *Claims) TakeSlot(ctx context.Context, s Schedule, database string, every time.Duration) (bool, Slot, error) {
	length := int64(max(every.Seconds(), 1))
	now := c.now()
	n := now.Unix() / length
	slot := Slot{key: c.layout.SlotKey(s, database, n), EndsIn: time.Unix((n+1)*length, 0).Sub(now)}
	// The body is this try's own: a PUT that landed but whose answer was
	// lost is retried by the SDK and refused (412), and only the body then
	// tells that this try took the slot (its request would not be made
	// till the next).
	mine := c.instance + " " + uuid.NewString()
	_, err := c.store.Put(ctx, slot.key, []byte(mine), PutCondition{IfNoneMatch: true})
	if errors.Is(err, ErrPreconditionFailed) {
		data, _, gerr := c.store.Get(ctx, slot.key)
		if gerr != nil {
			return false, slot, fmt.Errorf("read the %s slot of %s: %w", s, database, gerr)
		}
		return string(data) == mine, slot, nil // else another sidecar (or this one, earlier) took it
	}
	if err != nil {
		return false, slot, fmt.Errorf("take the %s slot of %s: %w", s, database, err)
	}
	return true, slot, nil
}
