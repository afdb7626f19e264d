package control_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/fakedb"
	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// oneCopy is a copy target "dr" as a place to read, counting how often
// its engine is asked for.
type oneCopy struct {
	svc   *sidecar.Service
	asked atomic.Int32
}

func (c *oneCopy) Copies() []string { return []string{"dr"} }

func (c *oneCopy) Copy(_ context.Context, name string) (*sidecar.Service, error) {
	c.asked.Add(1)
	if name != "dr" {
		return nil, &sidecar.UnknownCopyTargetError{Name: name, Targets: c.Copies()}
	}
	return c.svc, nil
}

// TestSourceIsChosenOnceAtAdmission: a verify that names its source reads
// the copy target admission found the backup in, without asking again
// when it runs: the choice is made once and passed on (Job.ChosenSource).
func TestSourceIsChosenOnceAtAdmission(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	db := fakedb.New(store)
	db.Create("shop", map[string]uint64{"orders": 10})
	logger := slog.New(slog.DiscardHandler)
	dr := sidecar.NewService(store, db.Ports(), nil, coord.Layout{Prefix: "dr"}, sidecar.Options{
		FullEvery: 24 * time.Hour, PollInterval: time.Millisecond, Holder: coord.Holder{Name: "a", Stable: true}}, logger)
	if _, err := dr.Backup(ctx, sidecar.BackupRequest{Database: model.DatabaseName("shop")}); err != nil {
		t.Fatal(err)
	}
	copies := &oneCopy{svc: dr}
	b := newBed(t, control.Options{CopyReaders: copies})
	id := b.request("alice", control.Request{Action: control.ActionVerify, Database: "shop", Source: "dr"})
	st := b.wait(id, control.StateSucceeded, control.StateFailed, control.StateRejected)
	if st.State != control.StateSucceeded || !strings.Contains(st.Message, "copy target dr") {
		t.Fatalf("verify from dr: %s: %s", st.State, st.Message)
	}
	if n := copies.asked.Load(); n != 1 {
		t.Errorf("the copy target was asked for %d times, want once (at admission)", n)
	}
}

// silentStore takes every read and never answers it (a copy target behind
// a hung load balancer): each read ends only when its context does.
type silentStore struct{ *memstore.ObjectStore }

func (silentStore) List(ctx context.Context, _ string, _ bool) (coord.Listing, error) {
	<-ctx.Done()
	return coord.Listing{}, ctx.Err()
}

func (silentStore) Get(ctx context.Context, _ string) ([]byte, string, error) {
	<-ctx.Done()
	return nil, "", ctx.Err()
}

func (silentStore) Exists(ctx context.Context, _ string) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// TestSilentCopyTargetHoldsNoAdmission: admission's look for the backup of
// a verify naming a copy target that never answers ends within
// Options.SourceLookWithin, and the request goes on to run (its run reads
// the target again and answers what it says). Unbounded, the look held an
// admission slot for as long as the S3 client waits (minutes), and a few
// such requests held every other request's admission.
func TestSilentCopyTargetHoldsNoAdmission(t *testing.T) {
	store := memstore.New()
	db := fakedb.New(store)
	dr := sidecar.NewService(silentStore{store}, db.Ports(), nil, coord.Layout{Prefix: "dr"}, sidecar.Options{
		FullEvery: 24 * time.Hour, PollInterval: time.Millisecond, Holder: coord.Holder{Name: "a", Stable: true}},
		slog.New(slog.DiscardHandler))
	b := newBed(t, control.Options{CopyReaders: &oneCopy{svc: dr}, SourceLookWithin: 100 * time.Millisecond})
	id := b.request("alice", control.Request{Action: control.ActionVerify, Database: "shop", Source: "dr"})
	b.wait(id, control.StateRunning)
}
