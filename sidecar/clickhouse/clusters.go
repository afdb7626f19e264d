package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// ClusterRows reads the rows of one cluster from system.clusters, as this
// server sees them (is_local is its own judgement of each replica).
func (d *Database) ClusterRows(ctx context.Context, name string) ([]setmodel.Row, error) {
	var names, hosts, addrs proto.ColStr
	var shards, replicas proto.ColUInt32
	var ports proto.ColUInt16
	var local proto.ColUInt8
	var out []setmodel.Row
	err := d.do(ctx, ch.Query{
		Body: `SELECT cluster, shard_num, replica_num, host_name, host_address, port, is_local
		       FROM system.clusters WHERE cluster = {cluster:String} ORDER BY shard_num, replica_num`,
		Parameters: []proto.Parameter{Param("cluster", name)},
		Result: proto.Results{{Name: "cluster", Data: &names}, {Name: "shard_num", Data: &shards},
			{Name: "replica_num", Data: &replicas}, {Name: "host_name", Data: &hosts}, {Name: "host_address", Data: &addrs},
			{Name: "port", Data: &ports}, {Name: "is_local", Data: &local}},
		OnResult: func(context.Context, proto.Block) error {
			for i := 0; i < names.Rows(); i++ {
				out = append(out, setmodel.Row{Cluster: names.Row(i), ShardNum: shards.Row(i), ReplicaNum: replicas.Row(i),
					HostName: hosts.Row(i), HostAddress: addrs.Row(i), Port: ports.Row(i), IsLocal: local.Row(i) == 1})
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("read cluster %s from system.clusters: %w", name, err)
	}
	return out, nil
}
