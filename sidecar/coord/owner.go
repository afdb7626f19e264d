package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ErrOtherDeployment marks a prefix that another deployment owns.
var ErrOtherDeployment = errors.New("the S3 prefix belongs to another deployment")

// ErrNoConditionalWrites marks a store that ignores If-None-Match or
// If-Match: on it two writers could both win the lease, and two sidecars
// could both claim one request.
var ErrNoConditionalWrites = errors.New("the S3 store ignores conditional writes")

// prefixOwner is the content of the owner object (Layout.OwnerKey): which
// deployment writes under a prefix. Two deployments writing one prefix
// would read each other's chains as their own, take each other's leases
// and delete each other's backups.
type prefixOwner struct {
	Deployment string    `json:"deployment"`
	ClaimedAt  time.Time `json:"claimed_at"`
	ClaimedBy  string    `json:"claimed_by"`
}

// ProbeAndClaim is what every writer runs before it writes: the store must
// honour conditional writes (ProbeConditionalWrites) and the prefix must be
// this deployment's (ClaimOwnership).
func (b *Bucket) ProbeAndClaim(ctx context.Context) error {
	if err := b.ProbeConditionalWrites(ctx); err != nil {
		return err
	}
	return b.ClaimOwnership(ctx)
}

// ClaimOwnership records the deployment as the prefix's owner when none is
// recorded (a conditional write: of two deployments starting at once, one
// wins), and returns ErrOtherDeployment when another name is recorded.
// Readers (list, restore, verify) never claim: a new server restoring after
// a disaster may read any prefix.
func (b *Bucket) ClaimOwnership(ctx context.Context) error {
	key := b.layout.OwnerKey()
	for range 3 {
		recorded, err := b.readOwner(ctx, key)
		if err == nil {
			return b.sameDeployment(recorded)
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		data, err := json.MarshalIndent(prefixOwner{Deployment: b.deployment,
			ClaimedAt: time.Now().UTC(), ClaimedBy: b.holder.Name}, "", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", key, err)
		}
		_, err = b.store.Put(ctx, key, data, PutCondition{IfNoneMatch: true})
		if err == nil {
			b.logger.Info("recorded this deployment as the owner of the S3 prefix",
				"deployment", b.deployment, "key", key)
			return nil
		}
		if !errors.Is(err, ErrPreconditionFailed) {
			return fmt.Errorf("record the owner of the S3 prefix (%s): %w", key, err)
		}
	}
	return fmt.Errorf("record the owner of the S3 prefix (%s): it changed three times while read", key)
}

func (b *Bucket) readOwner(ctx context.Context, key string) (prefixOwner, error) {
	data, _, err := b.store.Get(ctx, key)
	if err != nil {
		return prefixOwner{}, fmt.Errorf("read the owner of the S3 prefix (%s): %w", key, err)
	}
	var o prefixOwner
	if err := json.Unmarshal(data, &o); err != nil {
		return prefixOwner{}, fmt.Errorf("read the owner of the S3 prefix (%s): not ClickVault's JSON: %w", key, err)
	}
	return o, nil
}

func (b *Bucket) sameDeployment(recorded prefixOwner) error {
	if recorded.Deployment == b.deployment {
		return nil
	}
	return fmt.Errorf("%w: %s records deployment %s (since %s), this one is %s (s3.deployment); "+
		"give each deployment its own s3.prefix, or, if this is the same deployment, set s3.deployment = %q",
		ErrOtherDeployment, b.layout.OwnerKey(), deploymentName(recorded.Deployment),
		recorded.ClaimedAt.Format(time.RFC3339), deploymentName(b.deployment), recorded.Deployment)
}

func deploymentName(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return fmt.Sprintf("%q", name)
}

// probeCleanupWithin bounds the removal of the probe's object.
const probeCleanupWithin = 10 * time.Second

// ProbeConditionalWrites makes sure, with a throw-away object under the
// prefix, that the store refuses a second If-None-Match: * PUT of a key and
// a PUT whose If-Match names an ETag the object does not have. ClickVault's
// lease and request claims rest on both; a store that accepts them must not
// be used, so serve, backup and cleanup refuse to start on it.
func (b *Bucket) ProbeConditionalWrites(ctx context.Context) error {
	key := b.layout.ProbeKey(uuid.NewString())
	defer func() {
		// The throw-away object goes even when ctx has ended, but within a
		// bound of its own: without one, a store that takes connections and
		// never answers held start-up, and shutdown, for the SDK's retries
		// of its answer timeout (minutes).
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeCleanupWithin)
		defer cancel()
		_ = b.store.Delete(dctx, []string{key})
	}()
	if _, err := b.store.Put(ctx, key, []byte("probe"), PutCondition{IfNoneMatch: true}); err != nil {
		return fmt.Errorf("probe conditional writes (create %s): %w", key, err)
	}
	_, err := b.store.Put(ctx, key, []byte("again"), PutCondition{IfNoneMatch: true})
	if err == nil {
		return fmt.Errorf("%w: a second PUT of %s with If-None-Match: * succeeded, where it must fail with 412; "+
			"use a store that supports conditional writes (docs/how-backups-work.md: which stores are known to work)", ErrNoConditionalWrites, key)
	}
	if !errors.Is(err, ErrPreconditionFailed) {
		return fmt.Errorf("probe conditional writes (If-None-Match): %w", err)
	}
	_, err = b.store.Put(ctx, key, []byte("again"), PutCondition{IfMatch: `"clickvault-no-such-etag"`})
	if err == nil {
		return fmt.Errorf("%w: a PUT of %s with If-Match naming another ETag succeeded, where it must fail with 412; "+
			"use a store that supports conditional writes (docs/how-backups-work.md: which stores are known to work)", ErrNoConditionalWrites, key)
	}
	if !errors.Is(err, ErrPreconditionFailed) {
		return fmt.Errorf("probe conditional writes (If-Match): %w", err)
	}
	return nil
}
