package coord

import (
	"context"
	"time"
)

// BucketLock is a bucket's S3 Object Lock configuration: whether the
// bucket has Object Lock (and so versioning) at all, and the retention it
// gives every new object version by default.
type BucketLock struct {
	Enabled bool
	Mode    string // the default retention's mode, GOVERNANCE or COMPLIANCE; "" without one
	Days    int    // the default retention, in days or in years (one of them is set)
	Years   int
}

// Retention is what Object Lock holds of one object's current version:
// no one may remove that version before Until (in Mode), nor while a legal
// hold is on it. The zero value holds nothing.
type Retention struct {
	Mode      string
	Until     time.Time
	LegalHold bool
}

// Holds reports whether the retention still keeps the version at now.
func (r Retention) Holds(now time.Time) bool { return r.LegalHold || r.Until.After(now) }

// ObjectLock reads a bucket's Object Lock. A versioned bucket keeps every
// version a PUT overwrites and turns a DELETE without a version id into a
// delete marker, which Object Lock allows: ClickVault never removes a
// version, so what the lock protects it never touches. It asks the lock
// only to know what a cleanup may not claim to have freed.
// Implementations MUST be safe for concurrent use.
type ObjectLock interface {
	// BucketLock reads the bucket's configuration; a store without
	// Object Lock answers a zero BucketLock, not an error.
	BucketLock(ctx context.Context) (BucketLock, error)
	// Retention reads the retention and legal hold of key's current
	// version (the zero Retention when it has none); ErrNotFound when key
	// does not exist.
	Retention(ctx context.Context, key string) (Retention, error)
}
