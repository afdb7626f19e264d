package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// OwnerFile, under the prefix's .clickvault/ folder, records which deployment writes under a prefix. Two
// deployments writing one prefix would read each other's chains as their
// own, take each other's leases and delete each other's backups.
const OwnerFile = "deployment.json"

// ErrOtherDeployment marks a prefix that another deployment owns.
var ErrOtherDeployment = errors.New("the S3 prefix belongs to another deployment")

// prefixOwner is the content of OwnerFile.
type prefixOwner struct {
	Deployment string    `json:"deployment"`
	ClaimedAt  time.Time `json:"claimed_at"`
	ClaimedBy  string    `json:"claimed_by"`
}

// OwnerKey is where the prefix's owner is recorded.
func (l Layout) OwnerKey() string { return l.ControlKey(OwnerFile) }

// CheckStore is what every writer runs before it writes: the store must
// honour conditional writes (ProbeConditionalWrites) and the prefix must be
// this deployment's (ClaimPrefix).
func (s *Service) CheckStore(ctx context.Context) error {
	if err := s.ProbeConditionalWrites(ctx); err != nil {
		return err
	}
	return s.ClaimPrefix(ctx)
}

// ClaimPrefix records Options.Deployment as the prefix's owner when none is
// recorded (a conditional write: of two deployments starting at once, one
// wins), and returns ErrOtherDeployment when another name is recorded.
// Readers (list, restore, verify) never check: a new server restoring after
// a disaster may read any prefix.
func (s *Service) ClaimPrefix(ctx context.Context) error {
	key := s.layout.OwnerKey()
	for range 3 {
		recorded, err := s.readOwner(ctx, key)
		if err == nil {
			return s.sameDeployment(recorded)
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		data, err := json.MarshalIndent(prefixOwner{Deployment: s.opts.Deployment,
			ClaimedAt: time.Now().UTC(), ClaimedBy: s.opts.Owner.Name}, "", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", key, err)
		}
		_, err = s.store.Put(ctx, key, data, PutCondition{IfNoneMatch: true})
		if err == nil {
			s.logger.Info("recorded this deployment as the owner of the S3 prefix",
				"deployment", s.opts.Deployment, "key", key)
			return nil
		}
		if !errors.Is(err, ErrPreconditionFailed) {
			return fmt.Errorf("record the owner of the S3 prefix (%s): %w", key, err)
		}
	}
	return fmt.Errorf("record the owner of the S3 prefix (%s): it changed three times while read", key)
}

func (s *Service) readOwner(ctx context.Context, key string) (prefixOwner, error) {
	data, _, err := s.store.Get(ctx, key)
	if err != nil {
		return prefixOwner{}, fmt.Errorf("read the owner of the S3 prefix (%s): %w", key, err)
	}
	var o prefixOwner
	if err := json.Unmarshal(data, &o); err != nil {
		return prefixOwner{}, fmt.Errorf("read the owner of the S3 prefix (%s): not ClickVault's JSON: %w", key, err)
	}
	return o, nil
}

func (s *Service) sameDeployment(recorded prefixOwner) error {
	if recorded.Deployment == s.opts.Deployment {
		return nil
	}
	return fmt.Errorf("%w: %s records deployment %s (since %s), this one is %s (s3.deployment); "+
		"give each deployment its own s3.prefix, or, if this is the same deployment, set s3.deployment = %q",
		ErrOtherDeployment, s.layout.OwnerKey(), deploymentName(recorded.Deployment),
		recorded.ClaimedAt.Format(time.RFC3339), deploymentName(s.opts.Deployment), recorded.Deployment)
}

func deploymentName(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return fmt.Sprintf("%q", name)
}
