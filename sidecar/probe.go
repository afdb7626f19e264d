package sidecar

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ErrNoConditionalWrites marks a store that ignores If-None-Match or
// If-Match: on it two writers could both win the lease, and two sidecars
// could both claim one request.
var ErrNoConditionalWrites = errors.New("the S3 store ignores conditional writes")

// ProbeConditionalWrites checks, with a throw-away object under the prefix,
// that the store refuses a second If-None-Match: * PUT of a key and a PUT
// whose If-Match names an ETag the object does not have. ClickVault's lease
// and request claims rest on both; a store that accepts them must not be
// used, so serve, backup and cleanup refuse to start on it.
func (s *Service) ProbeConditionalWrites(ctx context.Context) error {
	key := s.layout.ControlKey("probe", uuid.NewString())
	defer func() { _ = s.store.Delete(context.WithoutCancel(ctx), []string{key}) }()
	if _, err := s.store.Put(ctx, key, []byte("probe"), PutCondition{IfNoneMatch: true}); err != nil {
		return fmt.Errorf("probe conditional writes (create %s): %w", key, err)
	}
	_, err := s.store.Put(ctx, key, []byte("again"), PutCondition{IfNoneMatch: true})
	if err == nil {
		return fmt.Errorf("%w: a second PUT of %s with If-None-Match: * succeeded, where it must fail with 412; "+
			"use a store that supports conditional writes (docs/how-backups-work.md: which stores are known to work)", ErrNoConditionalWrites, key)
	}
	if !errors.Is(err, ErrPreconditionFailed) {
		return fmt.Errorf("probe conditional writes (If-None-Match): %w", err)
	}
	_, err = s.store.Put(ctx, key, []byte("again"), PutCondition{IfMatch: `"clickvault-no-such-etag"`})
	if err == nil {
		return fmt.Errorf("%w: a PUT of %s with If-Match naming another ETag succeeded, where it must fail with 412; "+
			"use a store that supports conditional writes (docs/how-backups-work.md: which stores are known to work)", ErrNoConditionalWrites, key)
	}
	if !errors.Is(err, ErrPreconditionFailed) {
		return fmt.Errorf("probe conditional writes (If-Match): %w", err)
	}
	return nil
}
