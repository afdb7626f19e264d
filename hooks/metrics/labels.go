package metrics

import "github.com/clickvault/clickvault/sidecar/control"

// Other is the label value of everything outside a label's fixed set.
const Other = "other"

// A label value comes from a fixed set. Actions, states and databases can
// come from a row of the requests table, which any user with INSERT writes:
// `INSERT … SELECT toString(number) … FROM numbers(1e6)` must not make a
// million series on /metrics, each kept in memory until the sidecar stops.
var (
	actions = setOf(control.ActionBackup, control.ActionRestore, control.ActionVerify,
		control.ActionCheck, control.ActionCleanup, control.ActionCancel)
	states = setOf(control.StateQueued, control.StateRunning, control.StateSucceeded,
		control.StateFailed, control.StateRejected, control.StateCancelled)
	// "": a backup that failed before its kind was decided.
	kinds = setOf("", "full", "incremental")
)

func setOf[T ~string](values ...T) map[string]bool {
	out := make(map[string]bool, len(values))
	for _, v := range values {
		out[string(v)] = true
	}
	return out
}

// bound is v if the set holds it, Other if not.
func bound(set map[string]bool, v string) string {
	if set[v] {
		return v
	}
	return Other
}
