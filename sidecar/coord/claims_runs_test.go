package coord_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// A claim of a sidecar's own name is its own from before a restart, or a
// twin's (a second live sidecar given the same name). These tests run two
// runs of one name on one store, on a clock they move.

const ownName = "host/127.0.0.1:7480"

type runClock struct{ now time.Time }

func (c *runClock) advance(d time.Duration) { c.now = c.now.Add(d) }

// runOf is a run of ownName on store, judged by clock.
func runOf(store coord.ObjectStore, clock *runClock, run string) *coord.Claims {
	return loggedRunOf(store, clock, run, discard)
}

func loggedRunOf(store coord.ObjectStore, clock *runClock, run string, logger *slog.Logger) *coord.Claims {
	c := coord.NewClaims(store, claimsLayout, ownName, logger)
	c.SetClock(func() time.Time { return clock.now })
	c.SetRun(run)
	return c
}

func beat(t *testing.T, c *coord.Claims) {
	t.Helper()
	if err := c.Beat(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// ownNameClaim asserts that claiming request was refused as another run's
// of this name, a twin's or not, and returns the refusal (a value: the
// test reads it, it is not an error to check).
func ownNameClaim(t *testing.T, c *coord.Claims, request string, twin bool) coord.OwnNameClaimError {
	t.Helper()
	won, err := c.Claim(context.Background(), request)
	var e *coord.OwnNameClaimError
	if won || !errors.As(err, &e) || e.Twin != twin {
		t.Fatalf("claim of %s: won %v (%v); want refused as another run's of this name, twin %v", request, won, err, twin)
	}
	return *e
}

// TestClaimOfAnEarlierRunIsResumedOnceItIsSeenGone: a sidecar killed
// after claiming a request and restarted at once finds the claim under its
// own name, by its run before the restart. It resumes the request once it
// has watched the heartbeat for a heartbeat's time to live with no other
// run writing it; not before, when that run could still be a live twin's.
// After a long stop it watches all the same: what it finds at its start
// says nothing of a twin starting with it, or one whose clock differs.
func TestClaimOfAnEarlierRunIsResumedOnceItIsSeenGone(t *testing.T) {
	for name, stop := range map[string]time.Duration{"restarted at once": 2 * time.Second, "after a long stop": time.Hour} {
		t.Run(name, func(t *testing.T) { resumeAfterTheWatch(t, name, stop) })
	}
}

// resumeAfterTheWatch claims a request as one run, stops it for stop,
// and resumes the claim as the next run once it has watched.
func resumeAfterTheWatch(t *testing.T, name string, stop time.Duration) {
	ctx := context.Background()
	store, clock := memstore.New(), &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	before := runOf(store, clock, newRun("resume-before"))
	beat(t, before)
	if won, err := before.Claim(ctx, "r"); err != nil || !won {
		t.Fatalf("%s: the first claim: %v, %v", name, won, err)
	}
	put(t, store, claimsLayout.ClaimKey("old"), `{"instance":"`+ownName+`"}`) // a claim of before runs were recorded
	clock.advance(stop)
	after := runOf(store, clock, newRun("resume-after"))
	beat(t, after)
	e := ownNameClaim(t, after, "r", false)
	if want := clock.now.Add(coord.HeartbeatTTL); !e.Until.Equal(want) {
		t.Errorf("%s: looked at again at %s, want %s (a heartbeat's time to live)", name, e.Until, want)
	}
	for range 3 {
		clock.advance(coord.HeartbeatEvery - time.Millisecond)
		beat(t, after)
		ownNameClaim(t, after, "old", false)
	}
	clock.advance(3 * time.Millisecond)
	for _, r := range []string{"r", "old"} {
		if won, err := after.Claim(ctx, r); err != nil || !won {
			t.Fatalf("%s: the claim %s of a run seen gone: %v, %v", name, r, won, err)
		}
	}
	data, _, _ := store.Get(ctx, claimsLayout.ClaimKey("r"))
	if !strings.Contains(string(data), `"run":"resume-after`) {
		t.Errorf("%s: the claim resumed is %s, want the new run's", name, data)
	}
}

// TestLeaseOfARunSeenGoneByTheClaimsIsTakenAtOnce: the claims' watch
// (no other run wrote the heartbeat for a time to live) is as sure as
// the lease's own, so the earlier run's chain lease, live for a minute
// more, is taken back at once, not watched 30 s more.
func TestLeaseOfARunSeenGoneByTheClaimsIsTakenAtOnce(t *testing.T) {
	ctx := context.Background()
	store, clock := memstore.New(), &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	runBefore, runAfter := newRun("lease-before"), newRun("lease-after")
	before := runOf(store, clock, runBefore)
	if won, err := before.Claim(ctx, "r"); err != nil || !won {
		t.Fatalf("the first claim: %v, %v", won, err)
	}
	holder := coord.Holder{Name: ownName, Stable: true, Run: runBefore}
	if _, err := coord.AcquireLease(ctx, store, "chain", holder, coord.PurposeBackup, time.Minute, time.Now, discard); err != nil {
		t.Fatal(err)
	}
	after := runOf(store, clock, runAfter)
	beat(t, after)
	clock.advance(coord.HeartbeatTTL)
	beat(t, after)
	if won, err := after.Claim(ctx, "r"); err != nil || !won {
		t.Fatalf("the claim of a run seen gone: %v, %v", won, err)
	}
	holder.Run = runAfter
	start := time.Now()
	if _, err := coord.AcquireLease(ctx, store, "chain", holder, coord.PurposeBackup, time.Minute, time.Now, discard); err != nil {
		t.Fatalf("the lease of the run seen gone: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took the lease of a run seen gone after %v, want at once", took)
	}
}

// TestTwinSeenThroughAFailedBeat: a live twin whose beat fails once (or
// one slow PUT) still writes within a heartbeat's time to live, and is
// seen before the newcomer's watch ends.
func TestTwinSeenThroughAFailedBeat(t *testing.T) {
	store, clock := memstore.New(), &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	first := runOf(store, clock, newRun("failed-beat-first"))
	beat(t, first)
	if won, err := first.Claim(context.Background(), "r1"); err != nil || !won {
		t.Fatalf("the first twin's claim: %v, %v", won, err)
	}
	clock.advance(500 * time.Millisecond)
	second := runOf(store, clock, newRun("failed-beat-second"))
	beat(t, second)                 // t = 0.5 s
	clock.advance(19 * time.Second) // the first's beat at 10 s failed
	beat(t, first)                  // t = 19.5 s
	clock.advance(10*time.Second + 50*time.Millisecond)
	beat(t, second)            // t = 29.55 s: sees the first's write
	clock.advance(time.Second) // past the second's watch
	ownNameClaim(t, second, "r1", true)
}

// TestTwinsStartedTogether: two twins start at one moment; the second's
// first beat overwrites the first's. Each sees the other's writes, and
// neither takes the other's claim, even with clocks a minute apart (a
// heartbeat that looks expired to one is still the other's).
func TestTwinsStartedTogether(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	clockA := &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	clockB := &runClock{now: clockA.now.Add(time.Minute)}
	a, b := runOf(store, clockA, newRun("together-a")), runOf(store, clockB, newRun("together-b"))
	if won, err := a.Claim(ctx, "ra"); err != nil || !won {
		t.Fatalf("a's claim: %v, %v", won, err)
	}
	if won, err := b.Claim(ctx, "rb"); err != nil || !won {
		t.Fatalf("b's claim: %v, %v", won, err)
	}
	for range 5 {
		clockA.advance(coord.HeartbeatEvery)
		clockB.advance(coord.HeartbeatEvery)
		beat(t, a)
		beat(t, b)
	}
	ownNameClaim(t, a, "rb", true)
	ownNameClaim(t, b, "ra", true)
	if !a.TwinSeen() || !b.TwinSeen() {
		t.Error("twins seeing each other do not say they see a twin")
	}
}

// TestUnreadableHeartbeatIsNoNamedTwin: the heartbeat rewritten by
// someone (its conditional write refused) and then unreadable is not
// named a twin, at ERROR or in a refusal, but the claims of this name
// still wait: it may have been one.
func TestUnreadableHeartbeatIsNoNamedTwin(t *testing.T) {
	store, clock := newHooked(), &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	var said bytes.Buffer
	run := loggedRunOf(store, clock, newRun("unreadable"), slog.New(slog.NewTextHandler(&said, nil)))
	beat(t, run)
	put(t, store, claimsLayout.ClaimKey("r"), `{"instance":"`+ownName+`","run":"gone-run"}`)
	clock.advance(coord.HeartbeatTTL)
	key := claimsLayout.HeartbeatKey(ownName)
	put(t, store, key, `{"instance":"`+ownName+`","run":"someone"}`)
	store.failGet[key] = errors.New("read timed out")
	beat(t, run)
	delete(store.failGet, key)
	if strings.Contains(said.String(), "level=ERROR") || !strings.Contains(said.String(), "level=WARN") {
		t.Errorf("an unreadable heartbeat was logged as:\n%s", said.String())
	}
	ownNameClaim(t, run, "r", false)
	if !run.TwinSeen() {
		t.Error("an unreadable writer does not count for rejections: it may have been a twin")
	}
	clock.advance(coord.HeartbeatTTL)
	beat(t, run)
	if won, err := run.Claim(context.Background(), "r"); err != nil || !won {
		t.Fatalf("the claim a time to live later: %v, %v", won, err)
	}
}

// TestTwinsOfOneNameNeverTakeEachOthersClaims: two live sidecars of one
// name on one control table. Each claims requests; neither takes the
// other's while both beat, however long they run, and the one that
// started first, judged alone long before, does not take a claim the
// second wrote before its next beat.
func TestTwinsOfOneNameNeverTakeEachOthersClaims(t *testing.T) {
	ctx := context.Background()
	store, clock := memstore.New(), &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	first := runOf(store, clock, newRun("twin-first"))
	beat(t, first)
	if won, err := first.Claim(ctx, "r1"); err != nil || !won {
		t.Fatalf("the first twin's claim: %v, %v", won, err)
	}
	clock.advance(time.Minute)
	beat(t, first)
	var said bytes.Buffer
	second := loggedRunOf(store, clock, newRun("twin-second"), slog.New(slog.NewTextHandler(&said, nil)))
	if won, err := second.Claim(ctx, "r2"); err != nil || !won { // beats first, then claims
		t.Fatalf("the second twin's claim: %v, %v", won, err)
	}
	ownNameClaim(t, first, "r2", false) // the heartbeat changed since first's beat
	for range 6 {
		clock.advance(coord.HeartbeatEvery)
		beat(t, first)
		beat(t, second)
		if e := ownNameClaim(t, first, "r2", true); !e.Until.Equal(clock.now.Add(coord.HeartbeatTTL / 2)) {
			t.Errorf("a twin's claim looked at again at %s, want in half a time to live", e.Until)
		}
		ownNameClaim(t, second, "r1", true)
		if won, err := first.Claim(ctx, "r1"); err != nil || !won {
			t.Fatalf("the first twin's own claim: %v, %v", won, err)
		}
	}
	// Named once while the twin stays, and again when it comes back after
	// a heartbeat's time to live unseen.
	if n := strings.Count(said.String(), "level=ERROR msg=\"another live sidecar with this sidecar's own name"); n != 1 {
		t.Errorf("the twin was named at ERROR %d times in six beats, want once:\n%s", n, said.String())
	}
	clock.advance(coord.HeartbeatTTL)
	beat(t, first)
	beat(t, second)
	if n := strings.Count(said.String(), "two sidecars share one name"); n != 2 {
		t.Errorf("the twin back after a heartbeat's time to live was named %d times in all, want twice", n)
	}
	// The first stops; the second takes its claim once no write of it was
	// seen for a heartbeat's time to live.
	clock.advance(coord.HeartbeatTTL)
	if second.TwinSeen() {
		t.Error("a twin last seen a time to live ago is still seen")
	}
	beat(t, second)
	if won, err := second.Claim(ctx, "r1"); err != nil || !won {
		t.Fatalf("the claim of a twin that stopped: %v, %v", won, err)
	}
}

// TestDeadTwinsClaimsAreTakenWhileItsTwinLives: twins A and B; A is
// killed and its supervisor restarts it at once as A2. A's claims are not
// stuck while A2 and B live beside each other: A wrote nothing since, so
// once B has watched for a time to live, B takes them; B and A2 never
// take each other's.
func TestDeadTwinsClaimsAreTakenWhileItsTwinLives(t *testing.T) {
	ctx := context.Background()
	store, clock := memstore.New(), &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	a, b := runOf(store, clock, newRun("dead-a")), runOf(store, clock, newRun("dead-b"))
	for _, c := range []struct {
		claims  *coord.Claims
		request string
	}{{a, "ra"}, {b, "rb"}} {
		if won, err := c.claims.Claim(ctx, c.request); err != nil || !won {
			t.Fatalf("claim %s: %v, %v", c.request, won, err)
		}
	}
	for range 4 {
		clock.advance(coord.HeartbeatEvery)
		beat(t, a)
		beat(t, b)
	}
	ownNameClaim(t, b, "ra", true)
	a2 := runOf(store, clock, newRun("dead-a2")) // a killed, restarted at once
	beat(t, a2)
	for range 4 {
		clock.advance(coord.HeartbeatEvery)
		beat(t, b)
		beat(t, a2)
	}
	won, err := b.Claim(ctx, "ra")
	if err != nil || !won {
		var e *coord.OwnNameClaimError
		if !errors.As(err, &e) || e.Twin {
			t.Fatalf("the dead twin's claim, seen by b: %v, %v; want taken, or left for a later look (not a twin's)", won, err)
		}
		if won, err = a2.Claim(ctx, "ra"); err != nil || !won {
			t.Fatalf("the dead twin's claim, taken by its restart: %v, %v", won, err)
		}
	}
	ownNameClaim(t, a2, "rb", true)
}

// TestOwnRetriedBeatIsNoTwin: a heartbeat PUT that landed but whose
// answer was lost is sent again (SDK retry) and refused, If-Match no
// longer matching: its content is this run's own, so no twin is seen.
func TestOwnRetriedBeatIsNoTwin(t *testing.T) {
	store := &retriedPut{ObjectStore: memstore.New(), key: claimsLayout.HeartbeatKey(ownName)}
	clock := &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	run := runOf(store, clock, newRun("retried"))
	beat(t, run)
	put(t, store, claimsLayout.ClaimKey("r"), `{"instance":"`+ownName+`","run":"gone-run"}`)
	clock.advance(coord.HeartbeatTTL)
	store.armed = true
	beat(t, run)
	if store.armed {
		t.Fatal("the heartbeat was not written")
	}
	if won, err := run.Claim(context.Background(), "r"); err != nil || !won {
		t.Fatalf("a claim of a gone run after an own retried beat: %v, %v", won, err)
	}
}

// retriedPut lands one conditional PUT of key, then answers it as a
// failed condition, as S3 answers the SDK's retry of it.
type retriedPut struct {
	*memstore.ObjectStore
	key   string
	armed bool
}

func (r *retriedPut) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if !r.armed || key != r.key || cond.IfMatch == "" {
		return r.ObjectStore.Put(ctx, key, data, cond)
	}
	r.armed = false
	if _, err := r.ObjectStore.Put(ctx, key, data, cond); err != nil {
		return "", err
	}
	return "", coord.ErrPreconditionFailed
}

// TestAHangingBeatHoldsNothingUp: a heartbeat PUT that hangs (a dead
// pooled connection) holds up no reader of what the claims know, and a
// beat behind it gives up when its own context ends: the heartbeat loop
// bounds each beat, and must not wait past it for another's.
func TestAHangingBeatHoldsNothingUp(t *testing.T) {
	store := &hangingPut{ObjectStore: memstore.New(), key: claimsLayout.HeartbeatKey(ownName),
		hung: make(chan struct{}, 1), release: make(chan struct{})}
	clock := &runClock{now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	run := runOf(store, clock, newRun("hanging"))
	claimed := make(chan error, 1)
	go func() { _, err := run.Claim(context.Background(), "r"); claimed <- err }()
	<-store.hung // the claim's first beat hangs
	start := time.Now()
	run.TwinSeen()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := run.Beat(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a beat behind a hanging one: %v, want its deadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a reader and a bounded beat behind a hanging beat took %v", took)
	}
	close(store.release)
	if err := <-claimed; err != nil {
		t.Errorf("the claim once its beat went through: %v", err)
	}
}

// hangingPut hangs every PUT of key until release is closed, and says
// on hung when the first one hangs.
type hangingPut struct {
	*memstore.ObjectStore
	key           string
	hung, release chan struct{}
}

func (h *hangingPut) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if key == h.key {
		select {
		case h.hung <- struct{}{}:
		default:
		}
		<-h.release
	}
	return h.ObjectStore.Put(ctx, key, data, cond)
}
