package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
)

// newUnitSidecar is a runner on the in-memory store, with no ClickHouse:
// for what a runner decides without one.
func newUnitSidecar(instance string, store coord.ObjectStore, cp ControlPlane) *Runner {
	logger := slog.New(slog.DiscardHandler)
	svc := sidecar.NewService(store, sidecar.ClickHouse{}, nil, unitLayout, sidecar.Options{}, logger)
	return NewRunner(svc, coord.NewClaims(store, unitLayout, instance, logger), cp, nil, Options{Instance: instance, OwnUser: "clickvault", DefaultDatabase: "shop",
		ProofKey: unitProofKey}, nil, logger)
}

var unitProofKey = ProofKey("unit-test-password")

// unitLayout is the unit tests' prefix.
var unitLayout = coord.Layout{Prefix: "p"}

// signed is r as the sidecar inserts it: by its own login, with a proof.
func signed(r Request) Request {
	r.RequestedBy = "clickvault"
	r.Proof = Sign(unitProofKey, r, r.RequestedBy)
	return r
}

// TestPrecheck: junk is refused without any I/O (the runner here has no
// ClickHouse), with a message naming what was wrong; defaults are filled.
func TestPrecheck(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	for _, c := range []struct {
		r    Request
		want string
	}{
		{Request{Action: "explode"}, "unknown action"},
		{Request{Action: ActionBackup, Kind: "differential"}, "unknown backup kind"},
		{Request{Action: ActionBackup, Database: "x; DROP TABLE y"}, "is not a name ClickVault accepts"},
		{Request{Action: ActionBackup, Database: strings.Repeat("a", 300)}, "at most 256"},
		{Request{Action: ActionRestore, Target: "-x"}, "is not a name ClickVault accepts"},
		{Request{Action: ActionRestore, Backup: "yesterday"}, "is not a backup name"},
		{Request{Action: ActionCancel}, "needs the id"},
		{Request{Action: ActionCancel, Backup: "{0f8fad5b-d9cb-469f-a165-70867728950e}"}, "not a request id"},
		{Request{Action: ActionBackup, Via: "http:00000000", RequestedBy: "alice"}, "via is set only by the sidecar"},
		{Request{Action: ActionBackup, Tables: []string{"a"}, ExcludeTables: []string{"b"}}, "not both"},
		{Request{Action: ActionBackup, Partitions: []string{"1"}}, "for restores"},
		{Request{Action: ActionRestore, Tables: []string{"a TO b"}}, "table AS new_name"},
		{Request{Action: ActionRestore, Tables: []string{"a", "b"}, Partitions: []string{"1"}}, "exactly one table"},
		{Request{Action: ActionRestore, Mode: "replace"}, "name them"},
		{Request{Action: ActionRestore, Mode: "overwrite"}, "unknown restore mode"},
		{Request{Action: ActionRestore, ExcludeTables: []string{"a"}}, "exclude_tables is for backups"},
		{Request{Action: ActionVerify, Tables: []string{"a"}}, "not verify"},
		{Request{Action: ActionRestore, Tables: make([]string, 101)}, "more than 100 entries"},
		{Request{Action: ActionRestore, Tables: []string{TooLong}}, "more than 100 entries"},
		{Request{Action: ActionRestore, Partitions: []string{strings.Repeat("p", 300)}}, "entry of partitions"},
	} {
		_, err := s.admission.parseJob(c.r)
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want a rejection saying %q", c.r, err, c.want)
		}
	}
	r, err := s.admission.parseJob(Request{Action: " restore ", RequestedBy: "alice"})
	if err != nil || r.Action != ActionRestore || r.Database != "shop" || r.Target != "shop" {
		t.Fatalf("defaults: %+v, %v", r, err)
	}
	j, err := s.admission.parseJob(Request{Action: ActionRestore, Tables: []string{"orders AS old"}, Partitions: []string{"202401"}, Mode: "replace"})
	if err != nil || len(j.Restores) != 1 || j.Restores[0].Target != "old" || j.RestoreMode != "replace" {
		t.Fatalf("a table restore: %+v, %v", j, err)
	}
	if j, err := s.admission.parseJob(Request{Action: ActionBackup, ExcludeTables: []string{"logs"}}); err != nil || !j.OwnTableSet || j.Set.String() != "all but logs" {
		t.Fatalf("a backup with its own table set: %+v, %v", j.Set, err)
	}
	if _, err := s.admission.parseJob(signed(Request{ID: "0", Action: ActionBackup, Kind: "auto", Via: "http:0a1b2c3d"})); err != nil {
		t.Fatalf("a request the sidecar queued over HTTP: %v", err)
	}
	// The sidecar's login without a valid proof is not the sidecar: a view
	// fired by its own INSERT writes such rows.
	forged := signed(Request{ID: "0", Action: ActionBackup, Kind: "auto", Via: "http:0a1b2c3d"})
	forged.Database = "other"
	for _, r := range []Request{{Action: ActionBackup, Via: "http:0a1b2c3d", RequestedBy: "clickvault"}, forged} {
		if _, err := s.admission.parseJob(r); err == nil || !strings.Contains(err.Error(), "via is set only by the sidecar") {
			t.Fatalf("an unproven row of the sidecar's login with via: %v", err)
		}
	}
}

// TestOwnsRejection: with the same view of the live sidecars, exactly one
// of them owns each request's rejection, and the shares are even-handed.
func TestOwnsRejection(t *testing.T) {
	live := []string{"a", "b", "c"}
	sidecars := make([]*Runner, len(live))
	for i, name := range live {
		sidecars[i] = newUnitSidecar(name, memstore.New(), nil)
		sidecars[i].rejecter.live = live
	}
	share := map[string]int{}
	for i := 0; i < 3000; i++ {
		id := fmt.Sprintf("request-%d", i)
		owners := 0
		for _, s := range sidecars {
			if s.rejecter.ownsRejection(id) {
				owners++
				share[s.base.opts.Instance]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s has %d owners", id, owners)
		}
	}
	for name, n := range share {
		if n < 800 {
			t.Errorf("%s owns %d of 3000 rejections: the hash is lopsided", name, n)
		}
	}
}

// appendRecorder is a control plane that records request_log INSERTs; any
// other call is a test failure (it panics on the nil interface).
type appendRecorder struct {
	ControlPlane
	mu      sync.Mutex
	inserts [][]LogEntry
}

func (a *appendRecorder) AppendLog(_ context.Context, entries ...LogEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inserts = append(a.inserts, entries)
	return nil
}

// TestRejectionsAreBatched: a burst of rejections becomes a few INSERTs,
// none larger than rejectionBatch; each request once; the claims of
// claimed ones are deleted after their rejection is written.
func TestRejectionsAreBatched(t *testing.T) {
	cp, store := &appendRecorder{}, memstore.New()
	s := newUnitSidecar("a", store, cp)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.rejecter.rejectLoop(ctx); close(done) }()
	const n = 1200
	if _, err := store.Put(ctx, unitLayout.ClaimKey("r7"), []byte("{}"), coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		s.rejecter.rejectLater(ctx, Request{ID: fmt.Sprintf("r%d", i), Action: "explode"}, "unknown action", i == 7)
	}
	cancel()
	<-done
	seen := map[string]int{}
	for _, batch := range cp.inserts {
		if len(batch) > rejectionBatch {
			t.Fatalf("an INSERT of %d rows; at most %d", len(batch), rejectionBatch)
		}
		for _, e := range batch {
			seen[e.RequestID]++
		}
	}
	if len(seen) != n || len(cp.inserts) > n/rejectionBatch+3 {
		t.Fatalf("%d requests answered in %d INSERTs; want %d in a few", len(seen), len(cp.inserts), n)
	}
	if ok, _ := store.Exists(context.Background(), unitLayout.ClaimKey("r7")); ok {
		t.Fatal("the claim of a rejected request is still there")
	}
}

// TestShutdownDrainsInBatches: rejections still queued at shutdown are
// written too, in INSERTs no larger than rejectionBatch (once, a whole
// queue went out in one).
func TestShutdownDrainsInBatches(t *testing.T) {
	cp := &appendRecorder{}
	s := newUnitSidecar("a", memstore.New(), cp)
	for i := 0; i < rejectionQueue; i++ {
		s.rejecter.rejectLater(context.Background(), Request{ID: fmt.Sprintf("r%d", i), Action: "explode"}, "unknown action", false)
	}
	s.rejecter.writeRejections(context.Background(), s.rejecter.drainRejections(nil)) // what rejectLoop does on shutdown
	total := 0
	for _, batch := range cp.inserts {
		if len(batch) > rejectionBatch {
			t.Fatalf("an INSERT of %d rows; at most %d", len(batch), rejectionBatch)
		}
		total += len(batch)
	}
	if total != rejectionQueue {
		t.Fatalf("%d of %d queued rejections written", total, rejectionQueue)
	}
}

func TestCanonicalID(t *testing.T) {
	for id, want := range map[string]bool{
		"0f8fad5b-d9cb-469f-a165-70867728950e":          true,
		"0F8FAD5B-D9CB-469F-A165-70867728950E":          true,
		"{0f8fad5b-d9cb-469f-a165-70867728950e}":        false,
		"urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e": false,
		"0f8fad5bd9cb469fa16570867728950e":              false,
		"0f8fad5b-d9cb-469f-a165-70867728950g":          false,
		"0f8fad5b+d9cb-469f-a165-70867728950e":          false,
	} {
		if got := CanonicalID(id); got != want {
			t.Errorf("CanonicalID(%q) = %v, want %v", id, got, want)
		}
	}
}
