package clickhouse

import (
	"context"
	"fmt"

	"github.com/clickvault/clickvault/sidecar"
)

var _ sidecar.ViewStopper = (*Database)(nil)

// StopView stops a refreshable view's schedule (SYSTEM STOP VIEW): a view a
// restore includes is left for a person to start.
func (d *Database) StopView(ctx context.Context, database, view string) error {
	if err := validNames(database, view); err != nil {
		return err
	}
	if err := d.Exec(ctx, "SYSTEM STOP VIEW "+QuoteIdent(database)+"."+QuoteIdent(view)); err != nil {
		return fmt.Errorf("stop refreshable view %s.%s: %w", database, view, err)
	}
	return nil
}
