package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/clickvault/clickvault/sidecar/coord"
)

var _ coord.ObjectLock = (*ObjectStore)(nil)

// BucketLock reads the bucket's Object Lock configuration. A bucket without
// one, and a store that does not implement Object Lock, have none.
func (o *ObjectStore) BucketLock(ctx context.Context) (coord.BucketLock, error) {
	out, err := o.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(o.bucket)})
	if err != nil {
		if hasErrorCode(err, "ObjectLockConfigurationNotFoundError", "NotImplemented") {
			return coord.BucketLock{}, nil
		}
		return coord.BucketLock{}, fmt.Errorf("read the Object Lock configuration of bucket %s "+
			"(ClickVault needs s3:GetBucketObjectLockConfiguration): %w", o.bucket, mapErr(err))
	}
	cfg := out.ObjectLockConfiguration
	if cfg == nil || cfg.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		return coord.BucketLock{}, nil
	}
	lock := coord.BucketLock{Enabled: true}
	if cfg.Rule != nil && cfg.Rule.DefaultRetention != nil {
		d := cfg.Rule.DefaultRetention
		lock.Mode = string(d.Mode)
		lock.Days, lock.Years = int(aws.ToInt32(d.Days)), int(aws.ToInt32(d.Years))
	}
	return lock, nil
}

// Retention reads the retention and legal hold of key's current version
// from a HEAD. S3 leaves the lock's headers out of the answer of a caller
// who may not read them, rather than refusing: a version that shows
// neither is asked again with GetObjectRetention, which names a missing
// right instead of passing it over in silence.
func (o *ObjectStore) Retention(ctx context.Context, key string) (coord.Retention, error) {
	head, err := o.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	if err != nil {
		return coord.Retention{}, fmt.Errorf("read the retention of %s: %w", key, mapErr(err))
	}
	r := coord.Retention{Mode: string(head.ObjectLockMode), Until: aws.ToTime(head.ObjectLockRetainUntilDate),
		LegalHold: head.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn}
	if r.Mode != "" || r.LegalHold {
		return r, nil
	}
	out, err := o.client.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	switch {
	case err == nil && out.Retention != nil:
		return coord.Retention{Mode: string(out.Retention.Mode), Until: aws.ToTime(out.Retention.RetainUntilDate)}, nil
	// No retention on the version, or (InvalidRequest) no Object Lock on
	// the bucket: nothing holds it.
	case err == nil || hasErrorCode(err, "NoSuchObjectLockConfiguration", "InvalidRequest"):
		return coord.Retention{}, nil
	}
	return coord.Retention{}, fmt.Errorf("read the retention of %s (ClickVault needs s3:GetObjectRetention): %w", key, mapErr(err))
}

// hasErrorCode reports whether S3 answered err with one of codes.
func hasErrorCode(err error, codes ...string) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.ErrorCode() == c {
			return true
		}
	}
	return false
}
