package cluster

import (
	"context"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/control"
)

// deleteOldRequestRecords deletes the set-requests/ records older than the
// requests' rows (Requests.RequestRetention): one per backup request, read
// only when the request's sidecar answers it after a restart, which its
// row no longer asks for once gone. One LIST gives their ages; none is
// read.
func (r Requests) deleteOldRequestRecords(ctx context.Context, database string, dryRun bool, out *control.SetCleanupOutcome) error {
	if r.RequestRetention <= 0 {
		return nil
	}
	listing, err := r.Coord.store.List(ctx, r.Coord.layout.SetRequestsFolder(database), false)
	if err != nil {
		return fmt.Errorf("list the records of requests' sets: %w", err)
	}
	before := r.Coord.now().Add(-r.RequestRetention)
	var old []string
	for _, o := range listing.Objects {
		if o.LastModified.Before(before) {
			old = append(old, o.Key)
		}
	}
	if !dryRun && len(old) > 0 {
		if err := r.Coord.store.Delete(ctx, old); err != nil {
			return fmt.Errorf("delete the records of old requests' sets: %w", err)
		}
	}
	out.DeletedRequestRecords = len(old)
	return nil
}
