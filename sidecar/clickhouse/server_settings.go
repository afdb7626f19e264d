package clickhouse

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// BackupThreads reads ClickHouse's backup_threads server setting: how many
// BACKUPs it runs at once (more wait in its queue). 0 when the server does
// not list the setting.
func (d *Database) BackupThreads(ctx context.Context) (int, error) {
	var v proto.ColStr
	err := d.do(ctx, ch.Query{Body: "SELECT value FROM system.server_settings WHERE name = 'backup_threads'",
		Result: proto.ResultColumn{Data: &v}})
	if err != nil {
		return 0, fmt.Errorf("read backup_threads: %w", err)
	}
	if v.Rows() == 0 {
		return 0, nil
	}
	n, err := strconv.Atoi(v.Row(0))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("read backup_threads: not a count of threads: %q", v.Row(0))
	}
	return n, nil
}
