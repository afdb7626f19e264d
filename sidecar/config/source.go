package config

import (
	"errors"
	"fmt"
	"strings"
)

// ExampleFile and ReferenceFile are, in ClickVault's source, a commented
// config with every key and the page that explains each: a message about a
// missing key points at them.
const (
	ExampleFile   = "deploy/config.example.toml"
	ReferenceFile = "docs/configuration.md"
)

// SourceError is a configuration that did not load, with where it came
// from: a newcomer whose /etc/clickvault/config.toml does not exist yet
// learns that the file was looked for and absent, not only that a key
// is missing.
type SourceError struct {
	Path   string // the config file read, or looked for
	Absent bool   // Path is optional and was not there: defaults and environment only
	Err    error  // the problems, one line each
}

func (e *SourceError) Error() string {
	var b strings.Builder
	if e.Absent {
		fmt.Fprintf(&b, "%s was looked for and is absent, so only the defaults and the environment were read (-c names another file):", e.Path)
	} else {
		fmt.Fprintf(&b, "%s, with the environment's overrides:", e.Path)
	}
	for line := range strings.SplitSeq(e.Err.Error(), "\n") {
		b.WriteString("\n  " + line)
	}
	if hasMissing(e.Err) {
		fmt.Fprintf(&b, "\nA commented example of every key is %s, and %s explains each (both in ClickVault's source).",
			ExampleFile, ReferenceFile)
	}
	return b.String()
}

func (e *SourceError) Unwrap() error { return e.Err }

// hasMissing reports whether err holds an *Error for a required key.
func hasMissing(err error) bool {
	var e *Error
	if errors.As(err, &e) && e.Missing {
		return true
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, inner := range joined.Unwrap() {
			if hasMissing(inner) {
				return true
			}
		}
	}
	return false
}
