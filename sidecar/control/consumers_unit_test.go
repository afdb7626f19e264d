package control

import (
	"errors"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestPrecheckConsumersAndDryRun: consumers is a restore's alone and one of
// its three choices; dry_run belongs to restores and cleanups; shard and
// source are refused where they would be ignored (a cancel's too).
// Anything else is refused naming the field, before any I/O.
func TestPrecheckConsumersAndDryRun(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	for _, c := range []struct {
		r    Request
		want string
	}{
		{Request{Action: ActionRestore, Consumers: "sometimes"}, `unknown consumers "sometimes": want '' (the default`},
		{Request{Action: ActionRestore, Consumers: strings.Repeat("c", 300)}, "consumers is 300 bytes long"},
		{Request{Action: ActionVerify, Consumers: "include"}, "consumers is for restores, not verify"},
		{Request{Action: ActionBackup, Consumers: "skip"}, "consumers is for restores, not backup"},
		{Request{Action: ActionCancel, Consumers: "skip", Backup: "0f8fad5b-d9cb-469f-a165-70867728950e"}, "consumers is for restores, not cancel"},
		{Request{Action: ActionBackup, DryRun: true}, "dry_run is for restores"},
		{Request{Action: ActionVerify, DryRun: true}, "dry_run is for restores"},
		{Request{Action: ActionCancel, Source: "dr", Backup: "0f8fad5b-d9cb-469f-a165-70867728950e"}, "source is for restores, verifies, checks and cleanups"},
		{Request{Action: ActionCancel, Shard: 2, Backup: "0f8fad5b-d9cb-469f-a165-70867728950e"}, "shard is for a restore of one shard"},
		{Request{Action: ActionBackup, Source: "dr"}, "source is for restores, verifies, checks and cleanups"},
	} {
		_, err := s.admission.parseJob(c.r)
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want a rejection saying %q", c.r, err, c.want)
		}
	}
	for in, want := range map[string]model.Consumers{"": model.ConsumersRefuse, "skip": model.ConsumersSkip, " include ": model.ConsumersInclude} {
		j, err := s.admission.parseJob(Request{Action: ActionRestore, Consumers: in, DryRun: true})
		if err != nil || j.Consumers != want || !j.DryRun {
			t.Errorf("consumers %q: %q (dry run %v), %v; want %q", in, j.Consumers, j.DryRun, err, want)
		}
	}
	if _, err := s.admission.parseJob(Request{Action: ActionCleanup, DryRun: true}); err != nil {
		t.Errorf("a cleanup dry run: %v", err)
	}
}

// TestProofCoversConsumers: the sidecar's signed restore row stops
// checking out when its consumers choice is changed, and a row signed
// without one (as before the column existed) still checks out.
func TestProofCoversConsumers(t *testing.T) {
	s := newUnitSidecar("a", memstore.New(), nil)
	row := signed(Request{ID: "0", Action: ActionRestore, Kind: "auto", Via: "http:0a1b2c3d", Consumers: "skip"})
	if _, err := s.admission.parseJob(row); err != nil {
		t.Fatalf("the sidecar's signed restore: %v", err)
	}
	for _, c := range []string{"include", ""} {
		altered := row
		altered.Consumers = c
		if _, err := s.admission.parseJob(altered); err == nil || !strings.Contains(err.Error(), "via is set only by the sidecar") {
			t.Errorf("a signed row with consumers changed to %q still counts as the sidecar's: %v", c, err)
		}
	}
	if _, err := s.admission.parseJob(signed(Request{ID: "1", Action: ActionRestore, Kind: "auto", Via: "http:0a1b2c3d"})); err != nil {
		t.Errorf("a signed row without consumers: %v", err)
	}
}
