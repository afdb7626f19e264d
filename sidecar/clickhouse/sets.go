package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
	"github.com/clickvault/clickvault/sidecar/control"
)

// setColumns are the columns of the sets table, as rows are written and
// read.
type setColumns struct {
	database, id, state, kind, requestedBy proto.ColStr
	shards                                 *proto.ColArr[uint32]
	created                                *proto.ColDateTime64
	sealed, lastShardStart                 *proto.ColNullable[time.Time]
	reasons                                *proto.ColMap[string, string]
}

func newSetColumns() *setColumns {
	return &setColumns{
		shards:         new(proto.ColUInt32).Array(),
		created:        new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli),
		sealed:         proto.NewColNullable[time.Time](new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli)),
		reasons:        proto.NewMap[string, string](new(proto.ColStr), new(proto.ColStr)),
		lastShardStart: proto.NewColNullable[time.Time](new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli)),
	}
}

func (c *setColumns) columns() proto.Input {
	return proto.Input{{Name: "database", Data: &c.database}, {Name: "id", Data: &c.id}, {Name: "state", Data: &c.state},
		{Name: "kind", Data: &c.kind}, {Name: "shards", Data: c.shards}, {Name: "requested_by", Data: &c.requestedBy},
		{Name: "created_at", Data: c.created}, {Name: "sealed_at", Data: c.sealed}, {Name: "reasons", Data: c.reasons},
		{Name: "last_shard_start", Data: c.lastShardStart}}
}

func (c *setColumns) append(r control.SetSummary) {
	c.database.Append(r.Database)
	c.id.Append(r.ID)
	c.state.Append(string(r.State))
	c.kind.Append(r.Kind)
	shards := make([]uint32, len(r.Shards))
	for i, n := range r.Shards {
		shards[i] = uint32(n) //nolint:gosec // a shard number of system.clusters, small and positive
	}
	c.shards.Append(shards)
	c.requestedBy.Append(r.RequestedBy)
	c.created.Append(r.CreatedAt)
	c.sealed.Append(nullableTime(r.SealedAt))
	c.lastShardStart.Append(nullableTime(r.LastShardStart))
	reasons := r.Reasons
	if reasons == nil {
		reasons = map[string]string{}
	}
	c.reasons.Append(reasons)
}

func (c *setColumns) row(i int) control.SetSummary {
	r := control.SetSummary{Database: c.database.Row(i), ID: c.id.Row(i), State: setmodel.SetState(c.state.Row(i)), Kind: c.kind.Row(i),
		RequestedBy: c.requestedBy.Row(i), CreatedAt: c.created.Row(i).UTC(), Reasons: c.reasons.Row(i), Shards: []int{}}
	for _, n := range c.shards.Row(i) {
		r.Shards = append(r.Shards, int(n))
	}
	if v := c.sealed.Row(i); v.Set {
		t := v.Value.UTC()
		r.SealedAt = &t
	}
	if v := c.lastShardStart.Row(i); v.Set {
		t := v.Value.UTC()
		r.LastShardStart = &t
	}
	return r
}

// SetRows reads the sets table of a database (FINAL), oldest first.
func (c *ControlPlane) SetRows(ctx context.Context, database string) ([]control.SetSummary, error) {
	cols := newSetColumns()
	selects, results := selectInto(cols.columns(), "state", "kind")
	var out []control.SetSummary
	q := fmt.Sprintf("SELECT %s FROM %s FINAL WHERE database = {db:String} ORDER BY id", selects, c.table("sets"))
	err := c.db.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("db", database)}, Result: results,
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < cols.id.Rows(); i++ {
				out = append(out, cols.row(i))
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("read the sets table: %w", err)
	}
	return out, nil
}

// WriteSets adds or replaces rows of the sets table.
func (c *ControlPlane) WriteSets(ctx context.Context, rows []control.SetSummary) error {
	cols := newSetColumns()
	updated := new(proto.ColDateTime64).WithPrecision(proto.PrecisionMicro)
	now := time.Now()
	for _, r := range rows {
		cols.append(r)
		updated.Append(now)
	}
	in := append(cols.columns(), proto.InputColumn{Name: "updated_at", Data: updated})
	q := ch.Query{Body: "INSERT INTO " + c.table("sets") + " " + in.Columns() + " VALUES", Input: in,
		Settings: []ch.Setting{ch.SettingInt("materialized_views_ignore_errors", 1)}}
	if err := c.db.do(ctx, q); err != nil {
		return fmt.Errorf("write the sets table: %w", err)
	}
	return nil
}
