package model

import (
	"errors"
	"fmt"
	"regexp"
)

var identifier = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_-]{0,205}$`)

// ValidateIdentifier refuses a name ClickVault will not put in SQL (where it
// is back-quoted anyway): letters, digits, underscores and hyphens, not
// starting with a hyphen, at most 206 characters.
func ValidateIdentifier(what, name string) error {
	if !identifier.MatchString(name) {
		return fmt.Errorf("%s %q is not a name ClickVault accepts (letters, digits, _ and -, not starting with -)", what, name)
	}
	return nil
}

// clusterID is one path element of the bucket: no slash, no leading dot
// (ClickVault's own folders start with one), nothing S3 would escape.
var clusterID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidateClusterID accepts a cluster's name in the bucket (cluster.id).
func ValidateClusterID(what, id string) error {
	if !clusterID.MatchString(id) {
		return fmt.Errorf("%s must be 1 to 64 letters, digits, _ . - not starting with . _ or -, got %q", what, id)
	}
	return nil
}

// ErrDatabaseMissing is returned for a database that does not exist.
var ErrDatabaseMissing = errors.New("database does not exist")
