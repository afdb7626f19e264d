package coord

import (
	"context"
	"errors"
	"time"
)

// Errors the store returns, for its callers to decide on.
var (
	ErrNotFound           = errors.New("not found")
	ErrPreconditionFailed = errors.New("precondition failed")
)

// ConditionLost reports that a conditional write failed because its object
// changed since it was read: rewritten (412), or deleted (S3 answers
// If-Match on a missing key 404). Read it again, or yield to the writer.
func ConditionLost(err error) bool {
	return errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrNotFound)
}

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// Listing is one level of a folder: its objects and its sub-folders.
type Listing struct {
	Objects []ObjectInfo
	Folders []string // with trailing slash
}

// PutCondition makes a write conditional, as S3 conditional writes do.
type PutCondition struct {
	IfNoneMatch bool   // only if the key does not exist
	IfMatch     string // only if the key's ETag is this
}

// ObjectStore is the bucket. Implementations MUST be safe for concurrent use
// and MUST return ErrNotFound for a missing key and ErrPreconditionFailed
// when a PutCondition does not hold.
type ObjectStore interface {
	// List returns the objects and sub-folders directly under prefix; with
	// recursive, every object below it and no folders.
	List(ctx context.Context, prefix string, recursive bool) (Listing, error)
	// Get returns an object's content and ETag.
	Get(ctx context.Context, key string) ([]byte, string, error)
	// Put writes an object and returns its ETag.
	Put(ctx context.Context, key string, data []byte, cond PutCondition) (string, error)
	// Exists reports whether key exists.
	Exists(ctx context.Context, key string) (bool, error)
	// ETag returns key's ETag (the one its Put returned, without reading
	// the object); ErrNotFound if it does not exist.
	ETag(ctx context.Context, key string) (string, error)
	// Delete removes keys in order and stops at the first that fails.
	Delete(ctx context.Context, keys []string) error
	// URL is where key is, for people and catalogs: never with a credential.
	URL(key string) string
}
