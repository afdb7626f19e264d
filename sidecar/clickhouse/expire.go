package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// expireBatch bounds the keys one DELETE names, and expireBatches the
// DELETEs of one turn (the rest waits for the next).
const (
	expireBatch   = 10_000
	expireBatches = 100
)

// expiring is a table whose keys say deleted in a column of their own.
type expiring struct{ table, key, state string }

// ExpireDeleted removes every row of each backup, and of each set, whose
// newest row says deleted and was written before before. The keys are read
// first (FINAL), then deleted by name with every row of theirs written
// before before: a TTL on the deleted rows dropped a deleted row apart
// from an older row of its key in another part, which then read as the
// backup again; a DELETE whose subquery reads FINAL may read it per part
// as it goes, with the same outcome. A row written since (the backup
// found in S3 again) is newer than before, and stays.
func (c *ControlPlane) ExpireDeleted(ctx context.Context, before time.Time) error {
	for _, e := range []expiring{{"backups", "name", "status"}, {"sets", "id", "state"}} {
		for range expireBatches {
			dbs, keys, err := deletedKeys(ctx, c, e, before)
			if err == nil && len(keys) > 0 {
				q := fmt.Sprintf(`DELETE FROM %s WHERE has(arrayZip({dbs:Array(String)}, {keys:Array(String)}), (database, %s))
					AND updated_at < fromUnixTimestamp64Micro({before:Int64})`, c.table(e.table), e.key)
				err = c.db.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{arrayParam("dbs", dbs), arrayParam("keys", keys),
					Param("before", fmt.Sprint(before.UnixMicro()))},
					// Done when answered, whatever the login's profile says: the
					// next batch's read must not find these keys again.
					Settings: []ch.Setting{ch.SettingInt("lightweight_deletes_sync", 2)}})
			}
			if err != nil {
				return fmt.Errorf("remove the rows of %s that say deleted: %w", e.table, err)
			}
			if len(keys) < expireBatch {
				break
			}
		}
	}
	return nil
}

// deletedKeys reads up to expireBatch keys of e's table whose newest row
// says deleted and was written before before, as databases and keys. A
// function: the control plane has its 30 methods.
func deletedKeys(ctx context.Context, c *ControlPlane, e expiring, before time.Time) (dbs, keys []string, err error) {
	var database, key proto.ColStr
	q := fmt.Sprintf(`SELECT database, %[2]s AS key FROM %[1]s FINAL
		WHERE %[3]s = 'deleted' AND updated_at < fromUnixTimestamp64Micro({before:Int64}) LIMIT %[4]d`,
		c.table(e.table), e.key, e.state, expireBatch)
	err = c.db.do(ctx, ch.Query{Body: q, Parameters: []proto.Parameter{Param("before", fmt.Sprint(before.UnixMicro()))},
		// The filter reads each key's newest row, after FINAL, not before.
		Settings: []ch.Setting{ch.SettingInt("optimize_move_to_prewhere_if_final", 0)},
		Result:   proto.Results{{Name: "database", Data: &database}, {Name: "key", Data: &key}},
		OnResult: func(context.Context, proto.Block) error {
			for i := range database.Rows() {
				dbs, keys = append(dbs, database.Row(i)), append(keys, key.Row(i))
			}
			return nil
		}})
	return dbs, keys, err
}
