package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// purposeNode is what a node lease is taken for.
const purposeNode = "node"

// Run works this node's part of sets (its shard's backups, its steps of
// restores, sealing) every interval, and at once when woken (Wake), until
// ctx ends — while this sidecar holds the node's lease
// (Layout.NodeLeaseKey), renewed like a chain's. A second sidecar given
// the same shard and replica (a copied configuration, a second process on
// the node) waits for it, saying so, instead of sending a restore step the
// first already sent. The same sidecar restarted after a crash (its stable
// name, another run) takes the lease back once it saw it go unrenewed
// (coord.AcquireLease), and a live twin of its name is told apart; another
// one takes it once the last holder let it expire (Options.ClaimTTL). A
// lease that expired unrenewed stops this sidecar's steps until it holds
// the lease again.
func (c *Coordinator) Run(ctx context.Context, databases []string, every time.Duration) error {
	for ctx.Err() == nil {
		lease, err := takeNodeLease(ctx, c, every)
		if err != nil {
			return nil // ctx ended while it waited
		}
		err = lease.Hold(ctx, func(ctx context.Context) error {
			stepEvery(ctx, c, databases, every)
			return nil
		})
		if err != nil && ctx.Err() == nil {
			c.logger.Error("lost this node's lease in the cluster; it takes no part in sets until it holds it again",
				"shard", c.self.Position.Shard, "replica", c.self.Position.Replica, "err", err)
		}
	}
	return nil
}

// takeNodeLease waits until c's sidecar holds its node's lease, and logs
// once per holder who holds it meanwhile.
func takeNodeLease(ctx context.Context, c *Coordinator, every time.Duration) (*coord.Lease, error) {
	key := c.layout.NodeLeaseKey(c.cluster, c.self.Position.Shard, c.self.Position.Replica)
	retry := min(max(every, 5*time.Second), c.opts.ClaimTTL/3)
	told := ""
	for {
		lease, err := coord.AcquireLease(ctx, c.store, key, c.self.Holder, purposeNode, c.opts.ClaimTTL, c.now, c.logger)
		var held *coord.LeaseHeldError
		switch {
		case err == nil:
			if told != "" {
				c.logger.Info("took this node's lease in the cluster", "lease", key)
			}
			return lease, nil
		case errors.As(err, &held):
			if who := held.Info.Holder + "/" + held.Info.Run; who != told {
				told = who
				msg := "another sidecar holds this node's lease in the cluster (one sidecar per node): " +
					"this one takes no part in sets until that one stops"
				if held.Twin {
					msg = "another live sidecar with this sidecar's own name holds this node's lease in the cluster: " +
						"two sidecars share one name (host name and sidecar.listen); this one takes no part in sets until that one stops"
				}
				c.logger.Error(msg, "shard", c.self.Position.Shard, "replica", c.self.Position.Replica,
					"holder", held.Info.Holder, "run", held.Info.Run, "until", held.Info.ExpiresAt, "lease", key)
			}
		case ctx.Err() == nil:
			c.logger.Warn("take this node's lease in the cluster; will retry", "lease", key, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(retry):
		}
	}
}
