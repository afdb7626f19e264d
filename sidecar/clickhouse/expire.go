package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// ExpireDeleted removes every row of each backup, and of each set, whose
// newest row says deleted and was written before before: one lightweight
// DELETE of all of a key's rows. A TTL on the deleted rows could not: a
// merge that dropped a deleted row apart from an older row of its key (in
// another part) left that row the newest, and FINAL showed the backup
// completed again.
func (c *ControlPlane) ExpireDeleted(ctx context.Context, before time.Time) error {
	for _, e := range []struct{ table, key, state string }{{"backups", "name", "status"}, {"sets", "id", "state"}} {
		q := fmt.Sprintf(`DELETE FROM %[1]s WHERE (database, %[2]s) IN (
			SELECT database, %[2]s FROM %[1]s FINAL
			WHERE %[3]s = 'deleted' AND updated_at < fromUnixTimestamp64Micro({before:Int64}))`, c.table(e.table), e.key, e.state)
		err := c.db.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("before", fmt.Sprint(before.UnixMicro()))}})
		if err != nil {
			return fmt.Errorf("remove the rows of %s that say deleted: %w", e.table, err)
		}
	}
	return nil
}
