package control

import (
	"context"
	"fmt"
	"strings"
)

// scratchProbe names a verify scratch database for a grants lookup: a
// verify restores into clickvault_verify_<something>, and a grant that
// reaches one (ON *.*, ON clickvault_verify_*.*) reaches them all.
const scratchProbe = "clickvault_verify_probe"

// refuseReadableScratch refuses a verify whose requester could read its
// scratch database while ClickHouse keeps the source, or some of its rows,
// from them: a verify restores every row of the backup there, so a login
// with SELECT on every database but a revoke on this one, or a row policy
// on it, would read through ClickVault what their grants hide. (A restore
// is refused for row policies already; its target is theirs to read.)
func (s *admission) refuseReadableScratch(ctx context.Context, g *rightsLookup, j Job) error {
	if j.Action != ActionVerify || s.auth == nil || j.Operator {
		return nil
	}
	readsScratch, err := g.can(ctx, PrivSelect, scratchProbe, "")
	if err != nil || !readsScratch {
		return wrapRights(err, j.RequestedBy)
	}
	readsSource, err := g.can(ctx, PrivSelect, j.Database, "")
	if err != nil {
		return wrapRights(err, j.RequestedBy)
	}
	policies, err := s.auth.RowPolicies(ctx, j.RequestedBy, j.Database, nil)
	if err != nil {
		return fmt.Errorf("check row policies of %s: %w", j.RequestedBy, err)
	}
	if readsSource && len(policies) == 0 {
		return nil
	}
	hidden := "SELECT on database " + j.Database + " is not theirs"
	if len(policies) > 0 {
		hidden = "row policy " + strings.Join(policies, ", ") + " restricts them on database " + j.Database
	}
	return reject("user %q may read the verify's scratch databases (SELECT reaches clickvault_verify_*), and %s: "+
		"a verify would show them every row of the backup, so it is refused; the operator can run it, or "+
		"REVOKE SELECT ON clickvault_verify_*.* FROM %s", j.RequestedBy, hidden, j.RequestedBy)
}

func wrapRights(err error, user string) error {
	if err != nil {
		return fmt.Errorf("read the grants of %s: %w", user, err)
	}
	return nil
}
