package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// purposePlace is what a node's place lease is taken for.
const purposePlace = "node"

// Run works this node's part of sets (its shard's backups, its steps of
// restores, sealing) every interval, and at once when woken (Wake), until
// ctx ends — while this sidecar holds its node's place (Layout.PlaceKey),
// a lease renewed like a chain's. A second sidecar given the same shard and
// replica (a copied configuration, a second process on the node) waits
// for the place, saying so, instead of sending a restore step the first
// already sent. The same sidecar restarted (its stable name) takes its
// place back at once; another one takes it once the last holder let it
// expire (Options.ClaimTTL). A place lost to another (its renewals failed
// past that time) stops this sidecar's steps until the place is free.
func (c *Coordinator) Run(ctx context.Context, databases []string, every time.Duration) error {
	for ctx.Err() == nil {
		place, err := takePlace(ctx, c, every)
		if err != nil {
			return nil // ctx ended while it waited
		}
		err = place.Hold(ctx, func(ctx context.Context) error {
			stepEvery(ctx, c, databases, every)
			return nil
		})
		if err != nil && ctx.Err() == nil {
			c.logger.Error("lost this node's place in the cluster; it takes no part in sets until the place is free",
				"shard", c.self.Position.Shard, "replica", c.self.Position.Replica, "err", err)
		}
	}
	return nil
}

// takePlace waits until c's sidecar holds its node's place, and logs
// once per holder who holds it meanwhile.
func takePlace(ctx context.Context, c *Coordinator, every time.Duration) (*coord.Lease, error) {
	key := c.layout.PlaceKey(c.cluster, c.self.Position.Shard, c.self.Position.Replica)
	retry := min(max(every, 5*time.Second), c.opts.ClaimTTL/3)
	told := ""
	for {
		lease, err := coord.AcquireLease(ctx, c.store, key, c.self.Holder, purposePlace, c.opts.ClaimTTL, c.now, c.logger)
		var held *coord.LeaseHeldError
		switch {
		case err == nil:
			if told != "" {
				c.logger.Info("took this node's place in the cluster", "place", key)
			}
			return lease, nil
		case errors.As(err, &held):
			if held.Info.Holder != told {
				told = held.Info.Holder
				c.logger.Error("another sidecar works this node's place in the cluster (one sidecar per node): "+
					"this one takes no part in sets until that one stops", "shard", c.self.Position.Shard,
					"replica", c.self.Position.Replica, "holder", held.Info.Holder, "until", held.Info.ExpiresAt, "place", key)
			}
		case ctx.Err() == nil:
			c.logger.Warn("take this node's place in the cluster; will retry", "place", key, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(retry):
		}
	}
}
