package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/internal/testbed"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// ahead is how far the skewed sidecar's clock runs ahead of the store's:
// more than a lease's and a heartbeat's time to live.
const ahead = 90 * time.Second

// skewedStores are two stores of one real MinIO bucket: one on this host's
// clock, one on a clock running ahead, each having answered three times.
func skewedStores(t *testing.T) (onTime, skewed *s3.ObjectStore, ctx context.Context) {
	bed := testbed.New(t, testbed.Options{})
	m := bed.MinIO
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	open := func(clock func() time.Time) *s3.ObjectStore {
		store, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket,
			AccessKey: m.AccessKey, SecretKey: m.SecretKey, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 { // an offset is taken once three answers agree on it
			if err := store.Ping(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return store
	}
	return open(nil), open(skewedClock), ctx
}

func skewedClock() time.Time { return time.Now().Add(ahead) }

// TestClockOffsetReadsTheStoresDate: the offset a store measures is the
// skew of the clock it was given, to within a second and a bit.
func TestClockOffsetReadsTheStoresDate(t *testing.T) {
	onTime, skewed, _ := skewedStores(t)
	if off, ok := onTime.ClockOffset(); !ok || off.Abs() > 1500*time.Millisecond {
		t.Fatalf("on this host's clock: offset %v (measured %v), want within 1.5 s of 0", off, ok)
	}
	if off, ok := skewed.ClockOffset(); !ok || (off+ahead).Abs() > 1500*time.Millisecond {
		t.Fatalf("on a clock %v ahead: offset %v (measured %v), want within 1.5 s of %v", ahead, off, ok, -ahead)
	}
	if got := coord.StoreOffset(onTime); got != 0 {
		t.Fatalf("a clock within the tolerance is moved by %v", got)
	}
}

// TestAClockAheadTakesNoLiveClaimOrLease: a sidecar whose clock runs 90 s
// ahead, more than a heartbeat's and a lease's time to live, judges them on
// the store's clock, so it finds the live holder's heartbeat and lease
// alive and takes neither. On its own clock it took both.
func TestAClockAheadTakesNoLiveClaimOrLease(t *testing.T) {
	onTime, skewed, ctx := skewedStores(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	layout := coord.Layout{Prefix: "clock"}

	live := coord.NewClaims(onTime, layout, "live", logger)
	if ok, err := live.Claim(ctx, "r1"); err != nil || !ok {
		t.Fatalf("live sidecar's claim: %v %v", ok, err)
	}
	var told bytes.Buffer
	skewedClaims := coord.NewClaims(skewed, layout, "ahead", slog.New(slog.NewTextHandler(&told, nil)))
	skewedClaims.SetClock(skewedClock)
	if ok, err := skewedClaims.Claim(ctx, "r1"); err != nil || ok {
		t.Fatalf("a sidecar with a clock %v ahead took over a live sidecar's claim (took %v, err %v)", ahead, ok, err)
	}
	if err := skewedClaims.Beat(ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(told.String(), "clock is off"); n != 1 {
		t.Errorf("the skewed sidecar's heartbeats told of its clock %d times, want once:\n%s", n, told.String())
	}

	holding, release := make(chan struct{}), make(chan struct{})
	holder := coord.New(onTime, coord.Config{Layout: layout, Holder: coord.Holder{Name: "live"}}, logger)
	done := make(chan error, 1)
	go func() {
		done <- holder.WithLease(ctx, "db", coord.PurposeBackup, false, func(context.Context) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	other := coord.New(skewed, coord.Config{Layout: layout, Holder: coord.Holder{Name: "ahead"}, Now: skewedClock}, logger)
	err := other.WithLease(ctx, "db", coord.PurposeBackup, false, func(context.Context) error { return nil })
	close(release)
	var held *coord.LeaseHeldError
	if !errors.As(err, &held) {
		t.Fatalf("a sidecar with a clock %v ahead took a live lease over (err %v), want it held", ahead, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTheProbeTeachesTheOffset: a CLI run makes no request of its own
// before it takes a lease but the store's probe: the probe's answers are
// enough to take the offset, so the lease is judged on the store's clock.
func TestTheProbeTeachesTheOffset(t *testing.T) {
	bed := testbed.New(t, testbed.Options{})
	m := bed.MinIO
	ctx := context.Background()
	store, err := s3.New(ctx, s3.Config{Endpoint: m.Endpoint, Region: m.Region, Bucket: m.Bucket,
		AccessKey: m.AccessKey, SecretKey: m.SecretKey, Clock: skewedClock})
	if err != nil {
		t.Fatal(err)
	}
	b := coord.New(store, coord.Config{Layout: coord.Layout{Prefix: "probe"}, Holder: coord.Holder{Name: "cli"}, Deployment: "d"},
		slog.New(slog.DiscardHandler))
	if err := b.ProbeAndClaim(ctx); err != nil {
		t.Fatal(err)
	}
	if off, known := store.ClockOffset(); !known || (off+ahead).Abs() > 1500*time.Millisecond {
		t.Fatalf("after the probe: offset %v (taken %v), want %v", off, known, -ahead)
	}
}
