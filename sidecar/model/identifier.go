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

// ErrDatabaseMissing is returned for a database that does not exist.
var ErrDatabaseMissing = errors.New("database does not exist")
