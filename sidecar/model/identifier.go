package model

import (
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// identifier has no bounded repetition: `{0,205}` over Unicode classes
// compiles to 206 copies of them, 4.3 MB of heap held for the process's
// life (a third of serve's idle heap). The length is counted apart.
var identifier = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_-]*$`)

// MaxIdentifierLength is the most characters (not bytes) a name may have.
const MaxIdentifierLength = 206

// ValidateIdentifier refuses a name ClickVault will not put in SQL (where it
// is back-quoted anyway): letters, digits, underscores and hyphens, not
// starting with a hyphen, at most MaxIdentifierLength characters.
func ValidateIdentifier(what, name string) error {
	if n := utf8.RuneCountInString(name); n > MaxIdentifierLength {
		return fmt.Errorf("%s %.40q… is %d characters long; ClickVault accepts at most %d", what, name, n, MaxIdentifierLength)
	}
	if !identifier.MatchString(name) {
		return fmt.Errorf("%s %q is not a name ClickVault accepts (letters, digits, _ and -, not starting with -)", what, name)
	}
	return nil
}

// clusterID is one path element of the bucket: no slash, no leading dot
// (ClickVault's own folders start with one), nothing S3 would escape.
var clusterID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ClusterIDRule says what a cluster id may be, for messages.
const ClusterIDRule = "1 to 64 letters, digits, _ . - not starting with . _ or -"

// IsClusterID reports whether id may name a cluster in the bucket
// (cluster.id).
func IsClusterID(id string) bool { return clusterID.MatchString(id) }

// ValidateClusterID refuses an id IsClusterID refuses, naming what.
func ValidateClusterID(what, id string) error {
	if !IsClusterID(id) {
		return fmt.Errorf("%s must be %s, got %q", what, ClusterIDRule, id)
	}
	return nil
}

// ErrDatabaseMissing is returned for a database that does not exist.
var ErrDatabaseMissing = errors.New("database does not exist")
