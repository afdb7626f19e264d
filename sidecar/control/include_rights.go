package control

import (
	"context"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/model"
)

// consumers = 'include' recreates, live and with the sidecar's rights,
// objects that write or read outside the target: a materialized view
// writing into another database, a Distributed or Buffer table sending
// rows there, a view reading a table there. A requester who may restore
// the database could otherwise write, through them, where their own
// grants do not reach, or copy what they may not read into a table they
// may. So a requester's include needs INSERT on every outside table the
// included objects write into and SELECT on every one they read, as
// ClickHouse's grants say; what consumes from outside (Kafka, RabbitMQ,
// NATS, S3Queue, AzureQueue, …), writes into a store outside ClickHouse,
// or reads one through a table function is the operator's alone (the
// CLI, the HTTP API with a write token, the schedule): no grant of the
// requester says which queue, bucket or server they may use.

// includePermit is the check a restore asks once its plan is read, or nil
// when there is nothing to check.
func (s *admission) includePermit(r Job) func(context.Context, model.RestorePlan) error {
	if r.Operator || r.Consumers != model.ConsumersInclude || s.auth == nil {
		return nil
	}
	return func(ctx context.Context, p model.RestorePlan) error {
		g := s.grantsOf(r.RequestedBy)
		included := p.Included()
		for _, e := range included {
			if e.OperatorOnly != "" {
				return reject("user %q may not restore %s %s live (%s): consumers = 'include' of what consumes from, "+
					"or writes or reads through, something outside ClickHouse is for the operator (the CLI, the HTTP API, "+
					"the schedule); say consumers = 'skip' to leave it out", r.RequestedBy, e.Object, e.Table, e.OperatorOnly)
			}
		}
		for _, e := range included {
			if err := s.requireOutside(ctx, g, r, e, PrivInsert, e.WritesOutside, "writes into it"); err != nil {
				return err
			}
			if err := s.requireOutside(ctx, g, r, e, PrivSelect, e.ReadsOutside, "reads it"); err != nil {
				return err
			}
		}
		return nil
	}
}

// requireOutside refuses an included object unless the requester holds p
// on each of tables.
func (s *admission) requireOutside(ctx context.Context, g *rightsLookup, r Job, e model.PlanEntry, p Privilege, tables []model.QualifiedName, does string) error {
	for _, t := range tables {
		ok, err := g.can(ctx, p, t.Database, t.Name)
		if err != nil {
			return fmt.Errorf("check grants of %s: %w", r.RequestedBy, err)
		}
		if !ok {
			return reject("user %q lacks %s on table %s (%s %s, restored live with consumers = 'include', %s), which restore needs",
				r.RequestedBy, p, t, e.Object, e.Table, does)
		}
	}
	return nil
}
