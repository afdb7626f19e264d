package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/cluster"
	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// Replication reads system.replicas and system.tables and runs SYSTEM
// SYNC REPLICA, for the choice of the replica that backs a shard up and
// for making it current first (cluster.Replication).
type Replication struct{ c *conn }

var _ cluster.Replication = (*Replication)(nil)

// Replicas reads the system.replicas rows of database's tables; the
// columns are cast to the types the choice reads, whatever the server's.
func (r *Replication) Replicas(ctx context.Context, database string) ([]setmodel.ReplicaRow, error) {
	var db, table, engine, replica proto.ColStr
	var readonly, expired, total, active proto.ColUInt8
	var queue, inserts proto.ColUInt32
	var maxIndex, pointer, delay proto.ColUInt64
	var out []setmodel.ReplicaRow
	err := r.c.do(ctx, ch.Query{
		Body: `SELECT database, table, engine, toUInt8(is_readonly) AS ro, toUInt8(is_session_expired) AS expired,
		              replica_name, toUInt32(queue_size) AS queue, toUInt32(inserts_in_queue) AS inserts,
		              toUInt64(log_max_index) AS max_index, toUInt64(log_pointer) AS pointer,
		              toUInt64(absolute_delay) AS delay, toUInt8(total_replicas) AS total, toUInt8(active_replicas) AS active
		       FROM system.replicas WHERE database = {db:String} ORDER BY table`,
		Parameters: []proto.Parameter{Param("db", database)},
		Result: proto.Results{{Name: "database", Data: &db}, {Name: "table", Data: &table}, {Name: "engine", Data: &engine},
			{Name: "ro", Data: &readonly}, {Name: "expired", Data: &expired}, {Name: "replica_name", Data: &replica},
			{Name: "queue", Data: &queue}, {Name: "inserts", Data: &inserts}, {Name: "max_index", Data: &maxIndex},
			{Name: "pointer", Data: &pointer}, {Name: "delay", Data: &delay}, {Name: "total", Data: &total}, {Name: "active", Data: &active}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < db.Rows(); i++ {
				out = append(out, setmodel.ReplicaRow{Database: db.Row(i), Table: table.Row(i), Engine: engine.Row(i),
					IsReadonly: readonly.Row(i) == 1, IsSessionExpired: expired.Row(i) == 1, ReplicaName: replica.Row(i),
					QueueSize: queue.Row(i), InsertsInQueue: inserts.Row(i), LogMaxIndex: maxIndex.Row(i), LogPointer: pointer.Row(i),
					AbsoluteDelay: delay.Row(i), TotalReplicas: total.Row(i), ActiveReplicas: active.Row(i)})
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("read system.replicas of %s: %w", database, err)
	}
	return out, nil
}

// Tables reads database's tables with their engines.
func (r *Replication) Tables(ctx context.Context, database string) ([]setmodel.TableRow, error) {
	var names, engines proto.ColStr
	var out []setmodel.TableRow
	err := r.c.do(ctx, ch.Query{
		Body:       `SELECT name, engine FROM system.tables WHERE database = {db:String} AND NOT is_temporary ORDER BY name`,
		Parameters: []proto.Parameter{Param("db", database)},
		Result:     proto.Results{{Name: "name", Data: &names}, {Name: "engine", Data: &engines}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				out = append(out, setmodel.TableRow{Database: database, Name: names.Row(i), Engine: engines.Row(i)})
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("read the tables of %s: %w", database, err)
	}
	return out, nil
}

// syncMargin is how much longer than a SYNC REPLICA's receive_timeout the
// client waits for its answer: the server fails it with TIMEOUT_EXCEEDED
// at the timeout, and the client must hear that, not time out first.
const syncMargin = 30 * time.Second

// Sync runs one SYSTEM SYNC REPLICA statement (setmodel.SyncReplica built
// it from validated names) with its settings, on a connection of its own
// whose read deadline outlasts its receive_timeout: the server sends
// nothing while it waits, and the pool's connections give up on a silent
// server after seconds.
func (r *Replication) Sync(ctx context.Context, s setmodel.Statement) error {
	opts := r.c.opts
	opts.ReadTimeout = syncMargin
	var settings []ch.Setting
	for _, set := range s.Settings {
		settings = append(settings, ch.Setting{Key: set.Name, Value: set.Value, Important: true})
		if set.Name == "receive_timeout" {
			if secs, err := strconv.Atoi(set.Value); err == nil {
				opts.ReadTimeout = time.Duration(secs)*time.Second + syncMargin
			}
		}
	}
	client, err := ch.Dial(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to run %s: %s", s.SQL, r.c.redact.redact(err.Error()))
	}
	defer func() { _ = client.Close() }() // the statement's outcome is known; a close error changes nothing
	if err := client.Do(ctx, ch.Query{Body: s.SQL, Settings: settings}); err != nil {
		return r.c.redact.wrap(err)
	}
	return nil
}
