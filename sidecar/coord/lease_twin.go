package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ProcessRun tells this process from any other run under the same holder
// name (Holder.Run): the one before a restart, or a twin.
var ProcessRun = uuid.NewString()

// goneRuns are the runs of this sidecar's name whose leases were seen to
// go unrenewed (watchForRenewal): their other leases are taken back at
// once, not watched again one after another.
var goneRuns sync.Map // run → struct{}

// watchForRenewal watches a live lease of this sidecar's own name that
// another run of it wrote (Holder.Run): its run before a crash, or a twin
// that is alive. A live holder renews every third of its time to live
// (Lease.Hold), and a failed renewal again a twentieth later; so half of
// it leaves a renewal slowed by one failure and seconds of S3 latency to
// be seen. Unrenewed by then, the run that wrote it is gone and the lease
// is taken back, before it would expire: ok with the lease's ETag as it
// still is, or released when it was deleted meanwhile. Renewed by the same
// run (watched), it is a twin: a *LeaseHeldError with Twin set; taken by
// another writer meanwhile, the same error without. ttl is this sidecar's;
// twins share it.
func watchForRenewal(ctx context.Context, store ObjectStore, key, etag string, watched LeaseInfo, ttl time.Duration) (
	current string, released bool, err error) {
	if _, gone := goneRuns.Load(watched.Run); gone && watched.Run != "" {
		return etag, false, nil
	}
	timer := time.NewTimer(ttl / 2)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return "", false, fmt.Errorf("watch lease %s for a renewal: %w", key, context.Cause(ctx))
	case <-timer.C:
	}
	data, now, err := store.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", true, nil
	case err != nil:
		return "", false, fmt.Errorf("read lease %s: %w", key, err)
	case now == etag:
		goneRuns.Store(watched.Run, struct{}{})
		return etag, false, nil
	}
	var info LeaseInfo
	if json.Unmarshal(data, &info) != nil {
		info = LeaseInfo{Holder: "another writer", Purpose: "unknown"}
	}
	twin := info.Holder == watched.Holder && info.Run == watched.Run
	return "", false, &LeaseHeldError{Key: key, Info: info, Twin: twin}
}
