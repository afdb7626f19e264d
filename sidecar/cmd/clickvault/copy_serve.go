package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clickvault/clickvault/hooks/metrics"
	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/control"
)

// copyRetryEvery is how often serve runs a copy round besides the one
// after each completed backup: what a round left (a target down) is
// tried again then.
const copyRetryEvery = 5 * time.Minute

// copies are serve's copy rounds, with their metric; nil without [[copy]]
// targets. On a cluster node (sets, its coordinator) each round copies the
// node's shard and then the sets' records.
func (a *app) copies(ctx context.Context, reg prometheus.Registerer, sets *cluster.Coordinator) (*control.Copies, error) {
	if len(a.cfg.Copy) == 0 {
		return nil, nil
	}
	targets, err := a.copyTargets(ctx, "")
	if err != nil {
		return nil, err
	}
	dbs := a.cfg.DatabaseList()
	lags := metrics.NewCopyLags(reg, a.cfg.CopyNames(), dbs...)
	return control.NewCopies(a.setsCopierOf(sets, targets), targets, dbs, copyRetryEvery, lags, a.logger), nil
}

// copyingObserver is the metrics, and a copy round asked for after each
// completed backup.
type copyingObserver struct {
	*metrics.Metrics
	copies *control.Copies
}

func (o copyingObserver) BackupFinished(database, kind string, ok bool, took time.Duration, size uint64) {
	o.Metrics.BackupFinished(database, kind, ok, took, size)
	if ok && o.copies != nil {
		o.copies.BackupCompleted(database)
	}
}
