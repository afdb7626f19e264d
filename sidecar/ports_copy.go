package sidecar

import (
	"context"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// ObjectTransfer moves objects of the primary bucket to a copy target.
// Implementations MUST hold a bounded amount of memory whatever an
// object's size (stream, or let S3 copy server-side), MUST leave at dstKey
// either what was there or the whole object, and MUST be safe for
// concurrent use.
type ObjectTransfer interface {
	// Transfer copies the primary's object srcKey, of size bytes, to the
	// target's dstKey.
	Transfer(ctx context.Context, srcKey, dstKey string, size int64) error
	// ServerSide says whether S3 copies the bytes itself (same endpoint
	// and credentials) rather than ClickVault streaming them.
	ServerSide() bool
}

// CopyTarget is a second place every completed backup is copied to: its
// own bucket (Store), where backups are in it (Layout, the primary's with
// the target's prefix), and how objects get there (Transfer).
type CopyTarget struct {
	Name     string
	Store    coord.ObjectStore
	Layout   coord.Layout
	Transfer ObjectTransfer
	// BaseRef is how ClickHouse names a folder of the target as an
	// incremental's base (S3('http://…/folder/'), without credentials):
	// written into the manifest of each incremental copied, so a restore
	// from the copy reads the copy's base. The ClickHouse adapter knows the
	// form and how ClickHouse reaches the target.
	BaseRef func(folder string) string
	// Retention, when set, is the target's own: a backup it would delete
	// (planned on the primary's catalog) is not copied, so a target that
	// keeps less never gets back what its cleanup deleted.
	Retention *model.Retention
	// Unwanted, when set, names the backups of a database the target's own
	// retention would delete, decided outside the database's chains (a
	// cluster's whole sets): they are not sent, and Retention is not read.
	Unwanted func(ctx context.Context, database string) (map[string]bool, error)
}
