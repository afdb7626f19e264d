package cluster

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Layout places a cluster's backups and sets in the bucket; its keys are
// spelled in package coord with every other key of the bucket.
type Layout = coord.ClusterLayout

// ShardFolder is shard n's folder name inside a database's folder.
func ShardFolder(n int) string { return coord.ShardFolder(n) }

// shardNumber is the shard a ShardFolder name names.
func shardNumber(folder string) (int, error) {
	digits, ok := strings.CutPrefix(folder, strings.TrimSuffix(ShardFolder(0), "0"))
	if !ok {
		return 0, fmt.Errorf("%q is not a shard's folder", folder)
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a shard's folder", folder)
	}
	return n, nil
}
