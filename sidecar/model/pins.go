package model

import (
	"github.com/clickvault/clickvault/sidecar/coord"
)

// IgnoredPin is a pin a cleanup did not honour, with why.
type IgnoredPin struct {
	Pin     coord.FoundPin
	Reason  string
	Removed bool // a stale pin the cleanup deleted
}

// PinRule is the rule a pin gives the backups it keeps.
func PinRule(p coord.FoundPin) string { return "pinned by " + p.Describe() }
