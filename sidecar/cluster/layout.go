package cluster

import (
	"path"
	"strconv"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Names in a database's sets folder.
const (
	setsFolder   = "sets"
	openSetsFile = "open.json"
	setFile      = "set.json"
	shardPrefix  = "shard-"
	claimSuffix  = ".claim"
	resultSuffix = ".json"
)

// Layout places a cluster's backups and sets in the bucket. Every key of a
// cluster is spelled here:
//
//	{prefix}/{cluster id}/{database}/shard-{n}/full/{name}/ …    shard n's chains, lease, pins, catalog
//	{prefix}/{cluster id}/{database}/sets/open.json             the open sets: one GET per poll
//	{prefix}/{cluster id}/{database}/sets/{set}/set.json        the set: its shards, kind, requester, state
//	{prefix}/{cluster id}/{database}/sets/{set}/shard-{n}.claim the replica working shard n (a lease)
//	{prefix}/{cluster id}/{database}/sets/{set}/shard-{n}.json  how shard n's backup went
//
// A shard's folder holds exactly what a single server's database folder
// holds ({prefix}/{database}/…), so the engine runs on it unchanged
// (Engine). A single server has no cluster id and keeps its own layout.
type Layout struct {
	Prefix    string
	ClusterID string
}

// root is {prefix}/{cluster id}: what the engine's layout calls its prefix.
func (l Layout) root() string {
	p := strings.Trim(l.Prefix, "/")
	if p == "" {
		return l.ClusterID
	}
	return p + "/" + l.ClusterID
}

func (l Layout) join(parts ...string) string {
	return path.Join(append([]string{l.root()}, parts...)...)
}

// ShardFolder is shard n's folder name inside a database's folder.
func ShardFolder(n int) string { return shardPrefix + strconv.Itoa(n) }

// Engine is the engine's layout for shard n: its chains, lease, pins,
// catalog index and check record in {prefix}/{cluster id}/{database}/shard-{n}/.
func (l Layout) Engine(shard int) coord.Layout {
	return coord.Layout{Prefix: l.root(), Shard: ShardFolder(shard)}
}

// ShardRoot is shard n's folder of a database, with a trailing slash.
func (l Layout) ShardRoot(database string, shard int) string {
	return l.join(database, ShardFolder(shard)) + "/"
}

// SetsRoot is the folder of a database's sets, with a trailing slash.
func (l Layout) SetsRoot(database string) string { return l.join(database, setsFolder) + "/" }

// OpenSetsKey is the small object that lists a database's open sets.
func (l Layout) OpenSetsKey(database string) string {
	return l.join(database, setsFolder, openSetsFile)
}

// SetRoot is one set's folder, with a trailing slash.
func (l Layout) SetRoot(database, set string) string { return l.join(database, setsFolder, set) + "/" }

// SetKey is a set's record.
func (l Layout) SetKey(database, set string) string {
	return l.join(database, setsFolder, set, setFile)
}

// ClaimKey is the lease the replica working shard n of a set holds.
func (l Layout) ClaimKey(database, set string, shard int) string {
	return l.join(database, setsFolder, set, ShardFolder(shard)+claimSuffix)
}

// ResultKey is the record of how shard n's backup of a set went.
func (l Layout) ResultKey(database, set string, shard int) string {
	return l.join(database, setsFolder, set, ShardFolder(shard)+resultSuffix)
}
