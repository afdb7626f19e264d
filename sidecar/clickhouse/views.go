package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// A view created EMPTY is scheduled as if it had just refreshed: its next
// refresh is due at the next whole period of its schedule, and every
// schedule's periods (and offsets) are whole seconds. So the view is
// created early in a second of the server's clock, leaving the CREATE and
// the SYSTEM STOP VIEW right after it most of a second before any
// schedule can come due; system.view_refreshes then tells whether one
// did all the same.
const (
	secondLatest = 300 * time.Millisecond // start no later than this into a second
	secondMargin = 20 * time.Millisecond  // and no earlier than this
)

// CreateStoppedView runs create (a CREATE MATERIALIZED VIEW … EMPTY of
// database.view, from sidecar.stoppedCreate) and stops the view at once
// (SYSTEM STOP VIEW): a view a restore includes waits for a person to
// start it. It fails if the view refreshed in between.
func (d *RestoreOps) CreateStoppedView(ctx context.Context, database, view, create string) error {
	if err := validNames(database, view); err != nil {
		return err
	}
	if err := d.awaitSecondStart(ctx); err != nil {
		return err
	}
	if err := d.exec(ctx, create); err != nil {
		return fmt.Errorf("create it EMPTY: %w", err)
	}
	if err := d.StopView(ctx, database, view); err != nil {
		return err
	}
	var refreshed proto.ColUInt64
	err := d.do(ctx, ch.Query{Body: `SELECT count() FROM system.view_refreshes
		WHERE database = {db:String} AND view = {v:String} AND last_refresh_time IS NOT NULL`,
		Parameters: []proto.Parameter{Param("db", database), Param("v", view)}, Result: proto.ResultColumn{Data: &refreshed}})
	if err != nil {
		return fmt.Errorf("check that refreshable view %s.%s has not refreshed: %w", database, view, err)
	}
	if refreshed.Row(0) > 0 {
		return fmt.Errorf("refreshable view %s.%s refreshed once before SYSTEM STOP VIEW reached it; what that refresh wrote "+
			"into its TO table stays there", database, view)
	}
	return nil
}

// awaitSecondStart waits, by the server's clock, until early in a second.
func (d *RestoreOps) awaitSecondStart(ctx context.Context) error {
	var ms proto.ColUInt64
	if err := d.do(ctx, ch.Query{Body: "SELECT toUInt64(toUnixTimestamp64Milli(now64(3)) % 1000)",
		Result: proto.ResultColumn{Data: &ms}}); err != nil {
		return fmt.Errorf("read the server's clock: %w", err)
	}
	into := time.Duration(min(ms.Row(0), 999)) * time.Millisecond // under 1000 by the query; min bounds the conversion
	if into <= secondLatest && into >= secondMargin {
		return nil
	}
	wait := time.Second - into + secondMargin
	if into < secondMargin {
		wait = secondMargin - into
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

// StopView stops a refreshable view's schedule (SYSTEM STOP VIEW).
func (d *RestoreOps) StopView(ctx context.Context, database, view string) error {
	if err := validNames(database, view); err != nil {
		return err
	}
	if err := d.exec(ctx, "SYSTEM STOP VIEW "+QuoteIdent(database)+"."+QuoteIdent(view)); err != nil {
		return fmt.Errorf("stop refreshable view %s.%s: %w", database, view, err)
	}
	return nil
}
