package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// watchForRenewal watches a live lease of this sidecar's own name that
// another run of it wrote (Holder.Run): its run before a crash, or a twin
// that is alive. A live holder renews every third of its time to live
// (Lease.Hold), sooner after a slow renewal; so once a third and a tenth
// have passed unrenewed, the run that wrote it is gone and the lease is
// taken back, well before it would expire (etag: the lease as it still
// is; "" if it was released meanwhile). A renewal seen is a twin: a
// *LeaseHeldError with Twin set, when the same run (watched) renewed it;
// without, when another writer took it meanwhile. ttl is this sidecar's;
// the twins share it.
func watchForRenewal(ctx context.Context, store ObjectStore, key, etag string, watched LeaseInfo, ttl time.Duration) (string, error) {
	timer := time.NewTimer(ttl/3 + ttl/10)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("watch lease %s for a renewal: %w", key, context.Cause(ctx))
	case <-timer.C:
	}
	data, now, err := store.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read lease %s: %w", key, err)
	case now == etag:
		return etag, nil
	}
	var info LeaseInfo
	if json.Unmarshal(data, &info) != nil {
		info = LeaseInfo{Holder: "another writer", Purpose: "unknown"}
	}
	twin := info.Holder == watched.Holder && info.Run == watched.Run
	return "", &LeaseHeldError{Key: key, Info: info, Twin: twin}
}
