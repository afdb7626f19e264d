package sidecar

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// copyTransfers is how many objects are sent at once: each holds one
// stream (or one server-side copy), so memory stays bounded.
const copyTransfers = 4

// sendObjects sends each object of a backup (keys relative to its folder,
// with their sizes) from src to dst, unless the target has it with its
// size already (have). An object the primary lacks, or holds with another
// size, fails the copy: the primary's backup is broken, and a broken copy
// is never completed.
func (s *copier) sendObjects(ctx context.Context, t CopyTarget, src, dst string, objects []model.ObjectSize,
	srcSizes, have map[string]int64, rep *CopyReport) error {
	type send struct {
		from, to string
		size     int64  // as listed at the primary…
		bytes    uint64 // …the manifest's
	}
	var sends []send
	for _, o := range objects {
		from, to := coord.FileKey(src, o.Key), coord.FileKey(dst, o.Key)
		if size, ok := have[to]; ok && size >= 0 && uint64(size) == o.Size {
			rep.Skipped++
			continue
		}
		size, ok := srcSizes[from]
		if !ok || size < 0 || uint64(size) != o.Size {
			return fmt.Errorf("the primary's object %s has %d bytes (present: %v), its manifest says %d: the backup is broken", from, size, ok, o.Size)
		}
		sends = append(sends, send{from, to, size, o.Size})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(copyTransfers)
	var mu sync.Mutex
	for _, o := range sends {
		g.Go(func() error {
			if err := t.Transfer.Transfer(gctx, o.from, o.to, o.size); err != nil {
				return fmt.Errorf("send %s: %w", o.from, err)
			}
			mu.Lock()
			rep.Sent++
			rep.Bytes += o.bytes
			mu.Unlock()
			s.fault("copy-object-sent")
			return nil
		})
	}
	return g.Wait()
}
