package setmodel

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Row is one row of system.clusters: one replica of one shard of a
// cluster, as the server that answers sees it. IsLocal is that server's
// judgement that the replica is itself (its address is one of its own and
// the port is its tcp_port).
type Row struct {
	Cluster     string `json:"cluster"`
	ShardNum    uint32 `json:"shard_num"`
	ReplicaNum  uint32 `json:"replica_num"`
	HostName    string `json:"host_name"`
	HostAddress string `json:"host_address"`
	Port        uint16 `json:"port"`
	IsLocal     bool   `json:"is_local"`
}

// Topology is one cluster's shards, in shard order.
type Topology struct {
	Cluster string  `json:"cluster"`
	Shards  []Shard `json:"shards"`
}

// Shard is a shard and its replicas, in replica order.
type Shard struct {
	Num      int       `json:"num"`
	Replicas []Replica `json:"replicas"`
}

// Replica is one node of a shard. Local is where the server that was read
// stands, so it is not recorded in a set: every node sees another one.
type Replica struct {
	Num   int    `json:"num"`
	Host  string `json:"host"`
	Port  uint16 `json:"port"`
	Local bool   `json:"-"`
}

// ErrNoCluster means system.clusters has no row of the configured cluster.
var ErrNoCluster = errors.New("cluster not in system.clusters")

// NewTopology gathers the rows of cluster from system.clusters.
func NewTopology(cluster string, rows []Row) (Topology, error) {
	t := Topology{Cluster: cluster}
	byNum := map[int]int{} // shard number → index in t.Shards
	for _, r := range rows {
		if r.Cluster != cluster {
			continue
		}
		i, ok := byNum[int(r.ShardNum)]
		if !ok {
			i = len(t.Shards)
			byNum[int(r.ShardNum)] = i
			t.Shards = append(t.Shards, Shard{Num: int(r.ShardNum)})
		}
		t.Shards[i].Replicas = append(t.Shards[i].Replicas,
			Replica{Num: int(r.ReplicaNum), Host: r.HostName, Port: r.Port, Local: r.IsLocal})
	}
	if len(t.Shards) == 0 {
		return Topology{}, fmt.Errorf("%w: no row names cluster %q (is it in remote_servers of this server's config?)",
			ErrNoCluster, cluster)
	}
	sort.Slice(t.Shards, func(i, j int) bool { return t.Shards[i].Num < t.Shards[j].Num })
	for _, s := range t.Shards {
		sort.Slice(s.Replicas, func(i, j int) bool { return s.Replicas[i].Num < s.Replicas[j].Num })
	}
	return t, nil
}

// ShardNums are the topology's shard numbers, in order.
func (t Topology) ShardNums() []int {
	out := make([]int, len(t.Shards))
	for i, s := range t.Shards {
		out[i] = s.Num
	}
	return out
}

// Shard finds shard n.
func (t Topology) Shard(n int) (Shard, bool) {
	for _, s := range t.Shards {
		if s.Num == n {
			return s, true
		}
	}
	return Shard{}, false
}

// Override is what the config says of this node's place: cluster.shard
// and cluster.replica (0 = as system.clusters says).
type Override struct {
	Shard, Replica int
}

// Position is this node's place in the cluster.
type Position struct {
	Shard   int
	Replica int
	Host    string
	Port    uint16
}

// ErrNotLocated means this node's place in the cluster cannot be told from
// system.clusters alone; the message says which keys settle it.
var ErrNotLocated = errors.New("cannot tell this server's shard and replica")

// Locate finds this node's shard and replica: the one row system.clusters
// marks is_local, unless the config names the shard (then the local
// replica of that shard) or the shard and the replica. A node is_local on
// no row (its address is not its own, as behind NAT) or on several (a
// cluster that names one server twice) must be told by the config.
func Locate(t Topology, o Override) (Position, error) {
	if o.Replica != 0 && o.Shard == 0 {
		return Position{}, fmt.Errorf("%w: cluster.replica = %d needs cluster.shard too", ErrNotLocated, o.Replica)
	}
	shards := t.Shards
	if o.Shard != 0 {
		s, ok := t.Shard(o.Shard)
		if !ok {
			return Position{}, fmt.Errorf("%w: cluster.shard = %d, but cluster %s has shards %v",
				ErrNotLocated, o.Shard, t.Cluster, t.ShardNums())
		}
		shards = []Shard{s}
	}
	var local []Position
	for _, s := range shards {
		for _, r := range s.Replicas {
			p := Position{Shard: s.Num, Replica: r.Num, Host: r.Host, Port: r.Port}
			if o.Replica != 0 && r.Num == o.Replica {
				return p, nil // named by the config: trusted even when not is_local
			}
			if r.Local {
				local = append(local, p)
			}
		}
	}
	switch {
	case o.Replica != 0:
		return Position{}, fmt.Errorf("%w: cluster.replica = %d, but shard %d of cluster %s has %d replicas",
			ErrNotLocated, o.Replica, o.Shard, t.Cluster, len(shards[0].Replicas))
	case len(local) == 1:
		return local[0], nil
	case len(local) == 0 && o.Shard != 0:
		return Position{}, fmt.Errorf("%w: no replica of shard %d of cluster %s is this server (is_local): set cluster.replica",
			ErrNotLocated, o.Shard, t.Cluster)
	case len(local) == 0:
		return Position{}, fmt.Errorf("%w: no replica of cluster %s is this server (is_local = 0 on every row of system.clusters): "+
			"set cluster.shard and cluster.replica", ErrNotLocated, t.Cluster)
	}
	names := make([]string, len(local))
	for i, p := range local {
		names[i] = fmt.Sprintf("shard %d replica %d (%s:%d)", p.Shard, p.Replica, p.Host, p.Port)
	}
	return Position{}, fmt.Errorf("%w: this server is is_local on %d rows of cluster %s: %s; set cluster.shard and cluster.replica",
		ErrNotLocated, len(local), t.Cluster, strings.Join(names, ", "))
}
