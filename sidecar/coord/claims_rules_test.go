package coord_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// The claim rules decide that a request runs once: who wins a claim, when
// a holder counts as gone, how a take-over races. Written for the
// mutation run (docs/mutants.md).

var claimsLayout = coord.Layout{Prefix: "p"}

// hooked is a store whose Get and Put of chosen keys fail or first run a
// hook (another sidecar acting in between).
type hooked struct {
	*memstore.ObjectStore
	failGet, failPut map[string]error
	beforeGet        map[string]func()
}

func newHooked() *hooked {
	return &hooked{ObjectStore: memstore.New(), failGet: map[string]error{}, failPut: map[string]error{}, beforeGet: map[string]func(){}}
}

func (h *hooked) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := h.failGet[key]; err != nil {
		return nil, "", err
	}
	data, etag, err := h.ObjectStore.Get(ctx, key)
	if f := h.beforeGet[key]; f != nil {
		delete(h.beforeGet, key)
		f() // after the read: what is returned is already stale
	}
	return data, etag, err
}

func (h *hooked) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	if err := h.failPut[key]; err != nil {
		return "", err
	}
	return h.ObjectStore.Put(ctx, key, data, cond)
}

func put(t *testing.T, s coord.ObjectStore, key, data string) {
	t.Helper()
	if _, err := s.Put(context.Background(), key, []byte(data), coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
}

func claimsOn(s coord.ObjectStore, instance string, now time.Time) *coord.Claims {
	c := coord.NewClaims(s, claimsLayout, instance, discard)
	c.SetClock(func() time.Time { return now })
	return c
}

// TestClaimFromAGoneHolder: a claim is taken over when its holder has no
// heartbeat, an unreadable one or an expired one, or the claim itself
// cannot be read; never while the heartbeat lives.
func TestClaimFromAGoneHolder(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	fresh := `{"instance":"a","expires_at":"2026-11-01T00:00:30Z"}`
	for _, c := range []struct {
		name, claim, heartbeat string
		at                     time.Duration
		want                   bool
	}{
		{"no heartbeat", `{"instance":"a"}`, "", 0, true},
		{"an unreadable heartbeat", `{"instance":"a"}`, "junk", 0, true},
		{"an unreadable claim", "junk", fresh, 0, true},
		{"a claim without a holder", `{}`, fresh, 0, true},
		{"a live heartbeat", `{"instance":"a"}`, fresh, 0, false},
		{"a heartbeat a moment before it expires", `{"instance":"a"}`, fresh, 30*time.Second - time.Millisecond, false},
		{"a heartbeat as it expires", `{"instance":"a"}`, fresh, 30 * time.Second, true},
	} {
		s := memstore.New()
		put(t, s, claimsLayout.ClaimKey("r"), c.claim)
		if c.heartbeat != "" {
			put(t, s, claimsLayout.HeartbeatKey("a"), c.heartbeat)
		}
		if won, err := claimsOn(s, "b", now.Add(c.at)).Claim(ctx, "r"); err != nil || won != c.want {
			t.Errorf("%s: won %v (%v), want %v", c.name, won, err, c.want)
		}
	}
}

// TestHeartbeatLivesThreeBeats: a heartbeat written now keeps its sidecar
// alive for HeartbeatTTL, three beats, and no longer.
func TestHeartbeatLivesThreeBeats(t *testing.T) {
	ctx := context.Background()
	if coord.HeartbeatTTL != 3*coord.HeartbeatEvery || coord.HeartbeatEvery != 10*time.Second {
		t.Fatalf("heartbeat every %s, alive %s; want 10s and 30s", coord.HeartbeatEvery, coord.HeartbeatTTL)
	}
	s := memstore.New()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a := claimsOn(s, "a", now)
	if err := a.Beat(ctx); err != nil {
		t.Fatal(err)
	}
	if won, err := a.Claim(ctx, "r"); err != nil || !won {
		t.Fatalf("a's own claim: %v, %v", won, err)
	}
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{coord.HeartbeatTTL - time.Millisecond, false}, {coord.HeartbeatTTL, true}} {
		if won, err := claimsOn(s, "b", now.Add(c.at)).Claim(ctx, "r"); err != nil || won != c.want {
			t.Errorf("b at %s: won %v (%v), want %v", c.at, won, err, c.want)
		}
	}
}

// TestTakeOverRace: of two sidecars taking over one claim, the one whose
// read went stale loses quietly: its write is conditional on what it read.
func TestTakeOverRace(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := newHooked()
	key := claimsLayout.ClaimKey("r")
	put(t, s, key, `{"instance":"gone"}`)
	c := claimsOn(s.ObjectStore, "c", now)
	s.beforeGet[key] = func() {
		if won, err := c.Claim(ctx, "r"); err != nil || !won {
			t.Errorf("c's take-over: %v, %v", won, err)
		}
	}
	if won, err := claimsOn(s, "b", now).Claim(ctx, "r"); err != nil || won {
		t.Fatalf("b, whose read went stale: won %v (%v), want a quiet loss", won, err)
	}
	data, _, _ := s.ObjectStore.Get(ctx, key)
	if !strings.Contains(string(data), `"instance":"c"`) {
		t.Errorf("the claim is %s, want c's", data)
	}
}

// TestClaimErrors: a store that fails is an error, never a win or a
// silent loss.
func TestClaimErrors(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	broken := errors.New("store down")
	for name, setup := range map[string]func(*hooked){
		"the claim cannot be written": func(s *hooked) { s.failPut[claimsLayout.ClaimKey("r")] = broken },
		"the claim cannot be read": func(s *hooked) {
			put(t, s, claimsLayout.ClaimKey("r"), `{"instance":"a"}`)
			s.failGet[claimsLayout.ClaimKey("r")] = broken
		},
		"the holder's heartbeat cannot be read": func(s *hooked) {
			put(t, s, claimsLayout.ClaimKey("r"), `{"instance":"a"}`)
			s.failGet[claimsLayout.HeartbeatKey("a")] = broken
		},
	} {
		s := newHooked()
		setup(s)
		if won, err := claimsOn(s, "b", now).Claim(ctx, "r"); !errors.Is(err, broken) || won {
			t.Errorf("%s: won %v (%v), want the store's error", name, won, err)
		}
	}
	s := newHooked()
	s.failPut[claimsLayout.SlotKey(coord.BackupSchedule, "shop", 100)] = broken
	if took, _, err := claimsOn(s, "b", time.Unix(3600*100, 0)).TakeSlot(ctx, coord.BackupSchedule, "shop", time.Hour); !errors.Is(err, broken) || took {
		t.Errorf("a slot that cannot be written: %v, %v", took, err)
	}
}

// TestLiveSidecars: the sidecars with a fresh heartbeat, past one that
// expired, one that cannot be read and one gone since the listing.
func TestLiveSidecars(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := newHooked()
	put(t, s, claimsLayout.HeartbeatKey("a-gone"), `{"instance":"a-gone","expires_at":"2026-11-01T00:00:30Z"}`)
	s.failGet[claimsLayout.HeartbeatKey("a-gone")] = coord.ErrNotFound
	put(t, s, claimsLayout.HeartbeatKey("b-junk"), `junk`)
	put(t, s, claimsLayout.HeartbeatKey("c-old"), `{"instance":"c-old","expires_at":"2026-11-01T00:00:00Z"}`)
	put(t, s, claimsLayout.HeartbeatKey("d-live"), `{"instance":"d-live","expires_at":"2026-11-01T00:00:01Z"}`)
	live, err := claimsOn(s, "x", now).LiveSidecars(context.Background())
	if err != nil || !slices.Equal(live, []string{"d-live"}) {
		t.Errorf("live: %v (%v), want [d-live]", live, err)
	}
	// A heartbeat that cannot be read now (a read timed out) fails the
	// list: a list without it would share its rejections among the others.
	s.failGet[claimsLayout.HeartbeatKey("d-live")] = context.DeadlineExceeded
	if live, err := claimsOn(s, "x", now).LiveSidecars(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("live with a heartbeat unread: %v (%v), want the read's error", live, err)
	}
}

// slotRetried stores every PUT, and answers a conditional one as the SDK's
// retry of it would after the first try's answer was lost: 412.
type slotRetried struct{ *memstore.ObjectStore }

func (r slotRetried) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	etag, err := r.ObjectStore.Put(ctx, key, data, cond)
	if err == nil && cond.IfNoneMatch {
		return "", coord.ErrPreconditionFailed
	}
	return etag, err
}

// TestASlotTakenByARetriedPutIsTaken: a slot's PUT landed, its answer was
// lost and the retry was refused (412): the slot is this sidecar's, and
// its request is made (taken for another's, it had none till the next
// slot); a slot another sidecar took is still not.
func TestASlotTakenByARetriedPutIsTaken(t *testing.T) {
	ctx := context.Background()
	s := slotRetried{memstore.New()}
	at := time.Unix(3600*100, 0)
	if took, _, err := claimsOn(s, "a", at).TakeSlot(ctx, coord.BackupSchedule, "shop", time.Hour); err != nil || !took {
		t.Fatalf("a slot whose PUT landed and whose retry was refused: took %v, %v; want taken", took, err)
	}
	if took, _, err := claimsOn(s, "b", at).TakeSlot(ctx, coord.BackupSchedule, "shop", time.Hour); err != nil || took {
		t.Fatalf("the same slot, tried by another sidecar: took %v, %v; want not", took, err)
	}
	if took, _, err := claimsOn(s, "a", at).TakeSlot(ctx, coord.BackupSchedule, "shop", time.Hour); err != nil || took {
		t.Fatalf("the same slot, tried again by the sidecar that took it: took %v, %v; want not (one request a slot)", took, err)
	}
}
