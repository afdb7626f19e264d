package cluster

import "github.com/clickvault/clickvault/sidecar/coord"

// Layout places a cluster's backups and sets in the bucket; its keys are
// spelled in package coord with every other key of the bucket.
type Layout = coord.ClusterLayout
