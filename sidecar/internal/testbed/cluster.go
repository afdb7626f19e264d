package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// clusterName is a name written as an XML element of remote_servers.
var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ClusterOptions shape a test bed of several engines in one cluster.
type ClusterOptions struct {
	Options
	// Name is the cluster's name in remote_servers. Default: "vault".
	Name string
	// Replicas is, for each shard in order, how many nodes hold it:
	// {1, 1, 1} is three shards of one node each; {2, 1} puts shard 1 on
	// two nodes and shard 2 on one. Default: {1, 1, 1}. This engine has no
	// ReplicatedMergeTree: replicas of a shard are alike only when a test
	// writes the same rows to each (or inserts through a Distributed table,
	// which writes to every replica: internal_replication is false).
	Replicas []int
	// NodeOptions, when set, gives a node (1-based, in the order of Nodes)
	// users and grants of its own instead of Options': grants are each
	// server's own, as on a real cluster. Settings stay Options'.
	NodeOptions func(node int) Options
	// Others are more clusters in every node's remote_servers, each over
	// some of the nodes, as an operator defines a smaller cluster beside
	// the first: a sidecar configured with one of them sees that cluster's
	// shards, so a set can be restored onto another number of shards.
	Others []OtherCluster
}

// OtherCluster is a cluster of some of the nodes. Shards lists, per shard
// in order, the nodes holding it (1-based, in the order of Cluster.Nodes):
// {{1}, {2}} is node 1 as shard 1 and node 2 as shard 2.
type OtherCluster struct {
	Name   string
	Shards [][]int
}

// Cluster is several engine processes that share one remote_servers
// definition, each with its own data, users and macros, and one MinIO.
type Cluster struct {
	Dir    string
	Name   string
	Nodes  []*Node
	Others []OtherCluster
	MinIO  *MinIO
}

// Node is one engine of a cluster and its place in remote_servers.
type Node struct {
	Name       string // node1, node2, …: also its {replica} macro
	Shard      int    // 1-based, as system.clusters numbers shards
	Replica    int    // 1-based within the shard
	ClickHouse *ClickHouse
}

// StartCluster prepares the binaries and starts one engine per node and
// MinIO, ready for use. Every node gets the same users and grants, unless
// opts.NodeOptions gives a node its own.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	if opts.Bucket == "" {
		opts.Bucket = "backups"
	}
	if opts.Name == "" {
		opts.Name = "vault"
	}
	if len(opts.Replicas) == 0 {
		opts.Replicas = []int{1, 1, 1}
	}
	access, err := serverAccess(opts.Options)
	if err != nil {
		return nil, fmt.Errorf("start the test cluster: %w", err)
	}
	if err := validateOthers(opts); err != nil {
		return nil, fmt.Errorf("start the test cluster: %w", err)
	}
	bins, err := Prepare(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "clickvault-cluster-")
	if err != nil {
		return nil, fmt.Errorf("create test cluster directory: %w", err)
	}
	c := &Cluster{Dir: dir, Name: opts.Name, Others: opts.Others, MinIO: newMinIO(dir, bins.MinIO, opts.Bucket)}
	env := []string{"AWS_ACCESS_KEY_ID=" + c.MinIO.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + c.MinIO.SecretKey, "AWS_EC2_METADATA_DISABLED=true"}
	for shard, replicas := range opts.Replicas {
		for replica := 1; replica <= replicas; replica++ {
			name := fmt.Sprintf("node%d", len(c.Nodes)+1)
			nodeAccess := access
			if opts.NodeOptions != nil {
				if nodeAccess, err = serverAccess(opts.NodeOptions(len(c.Nodes) + 1)); err != nil {
					return nil, fmt.Errorf("start the test cluster: %s: %w", name, err)
				}
			}
			ch := newClickHouse(filepath.Join(dir, name), bins.Engine, bins.Libchdb, nodeAccess, opts.Settings)
			ch.env = env
			c.Nodes = append(c.Nodes, &Node{Name: name, Shard: shard + 1, Replica: replica, ClickHouse: ch})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.startNodes(gctx) })
	g.Go(func() error {
		if err := c.MinIO.start(gctx); err != nil {
			return err
		}
		return c.MinIO.createBucket(gctx, c.MinIO.Bucket, 0)
	})
	if err := g.Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("start the test cluster: %w", err)
	}
	return c, nil
}

// startNodes picks every node's ports first (remote_servers names them all),
// writes each node's cluster config and starts the nodes together. A port
// another process took in between fails a start: all are stopped and the
// whole cluster tried again on new ports.
func (c *Cluster) startNodes(ctx context.Context) error {
	secret, err := randomSecret()
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		for _, n := range c.Nodes {
			if n.ClickHouse.Addr, err = freeLoopbackAddr(); err != nil {
				return err
			}
			if n.ClickHouse.HTTPAddr, err = freeLoopbackAddr(); err != nil {
				return err
			}
		}
		for _, n := range c.Nodes {
			if err := c.writeClusterConfig(n, secret); err != nil {
				return err
			}
		}
		g, gctx := errgroup.WithContext(ctx)
		for _, n := range c.Nodes {
			g.Go(func() error { return n.ClickHouse.start(gctx) })
		}
		err = g.Wait()
		if err == nil || attempt == 2 || ctx.Err() != nil {
			return err
		}
		for _, n := range c.Nodes {
			n.ClickHouse.stop()
		}
	}
}

// writeClusterConfig puts the cluster into the node's config.d, which
// ClickHouse merges into the config.xml next to it (the one
// writeAccessConfig writes in the node's directory): its own tcp_port (so
// system.clusters marks its own replica is_local), remote_servers and
// its macros.
func (c *Cluster) writeClusterConfig(n *Node, secret string) error {
	_, port, _ := net.SplitHostPort(n.ClickHouse.Addr)
	var b strings.Builder
	b.WriteString("<clickhouse>\n<tcp_port>" + port + "</tcp_port>\n")
	b.WriteString(c.RemoteServers(secret))
	fmt.Fprintf(&b, "<macros><cluster>%s</cluster><shard>%d</shard><replica>%s</replica></macros>\n",
		xmlText(c.Name), n.Shard, xmlText(n.Name))
	b.WriteString("</clickhouse>\n")
	confd := filepath.Join(filepath.Dir(n.ClickHouse.LogPath()), "config.d")
	if err := os.MkdirAll(confd, 0o750); err != nil {
		return fmt.Errorf("create %s config.d: %w", n.Name, err)
	}
	if err := os.WriteFile(filepath.Join(confd, "cluster.xml"), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write %s cluster config: %w", n.Name, err)
	}
	return nil
}

// RemoteServers is the <remote_servers> section every node has: the
// cluster, then the others. With the interserver secret, a node runs a
// Distributed query's parts on the other nodes as the query's own user,
// so grants hold on every node.
func (c *Cluster) RemoteServers(secret string) string {
	var b strings.Builder
	b.WriteString("<remote_servers>")
	var shards [][]*Node
	for _, n := range c.Nodes {
		if len(shards) < n.Shard {
			shards = append(shards, nil)
		}
		shards[n.Shard-1] = append(shards[n.Shard-1], n)
	}
	writeClusterXML(&b, c.Name, secret, shards)
	for _, o := range c.Others {
		var other [][]*Node
		for _, nodes := range o.Shards {
			var shard []*Node
			for _, i := range nodes {
				shard = append(shard, c.Nodes[i-1])
			}
			other = append(other, shard)
		}
		writeClusterXML(&b, o.Name, secret, other)
	}
	b.WriteString("</remote_servers>\n")
	return b.String()
}

// writeClusterXML writes one cluster of remote_servers: its shards, each
// with its replicas, in order.
func writeClusterXML(b *strings.Builder, name, secret string, shards [][]*Node) {
	fmt.Fprintf(b, "<%s>", name)
	if secret != "" {
		fmt.Fprintf(b, "<secret>%s</secret>", xmlText(secret))
	}
	for _, shard := range shards {
		b.WriteString("<shard><internal_replication>false</internal_replication>")
		for _, n := range shard {
			host, port, _ := net.SplitHostPort(n.ClickHouse.Addr)
			fmt.Fprintf(b, "<replica><host>%s</host><port>%s</port></replica>", host, port)
		}
		b.WriteString("</shard>")
	}
	fmt.Fprintf(b, "</%s>", name)
}

// validateOthers refuses another cluster that would make remote_servers
// wrong: a name taken or not a plain XML name, a shard of no node, a node
// that is not there or named twice.
func validateOthers(opts ClusterOptions) error {
	nodes := 0
	for _, r := range opts.Replicas {
		nodes += r
	}
	names := map[string]bool{opts.Name: true}
	for _, o := range opts.Others {
		if names[o.Name] || !clusterName.MatchString(o.Name) {
			return fmt.Errorf("another cluster named %q: taken, or not a name remote_servers takes", o.Name)
		}
		names[o.Name] = true
		seen := map[int]bool{}
		for s, shard := range o.Shards {
			if len(shard) == 0 {
				return fmt.Errorf("cluster %s: shard %d has no node", o.Name, s+1)
			}
			for _, i := range shard {
				if i < 1 || i > nodes || seen[i] {
					return fmt.Errorf("cluster %s: node %d is not one of the %d nodes, or is named twice", o.Name, i, nodes)
				}
				seen[i] = true
			}
		}
	}
	return nil
}

func randomSecret() (string, error) {
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("make the interserver secret: %w", err)
	}
	return hex.EncodeToString(buf), nil
}

// Shard is the nodes holding shard n (1-based), by replica.
func (c *Cluster) Shard(n int) []*Node {
	var out []*Node
	for _, node := range c.Nodes {
		if node.Shard == n {
			out = append(out, node)
		}
	}
	return out
}

// Bed is node i's engine with the cluster's MinIO, for helpers that take
// a test bed. Close the cluster, not the Bed: the Bed shares its MinIO.
func (c *Cluster) Bed(i int) *Bed {
	return &Bed{Dir: filepath.Dir(c.Nodes[i].ClickHouse.LogPath()), ClickHouse: c.Nodes[i].ClickHouse, MinIO: c.MinIO}
}

// Close stops every node and MinIO and removes their data.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		n.ClickHouse.stop()
	}
	c.MinIO.Stop()
	_ = os.RemoveAll(c.Dir)
}

// Logs returns the end of every server's log, for a failed test to show.
func (c *Cluster) Logs() string {
	var out strings.Builder
	paths := []string{c.MinIO.LogPath()}
	for _, n := range c.Nodes {
		paths = append(paths, n.ClickHouse.LogPath())
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(&out, "--- %s: %v\n", path, err)
			continue
		}
		fmt.Fprintf(&out, "--- %s\n%s\n", path, tail(string(data), 3000))
	}
	return out.String()
}

// NewCluster starts a test cluster for t and stops it when t ends. Like
// New, it fails (never skips) when the test bed cannot start, and skips
// only under -short.
func NewCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the test bed (three ClickHouse engines and MinIO); run without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, opts)
	if err != nil {
		t.Fatalf("the test cluster is needed and could not start: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("test cluster logs:\n%s", c.Logs())
		}
		c.Close()
	})
	return c
}
