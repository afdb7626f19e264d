package cluster

import (
	"context"
	"time"

	"github.com/clickvault/clickvault/sidecar/cluster/setmodel"
)

// Status reads a set and the results of its shards so far, as a request
// waiting for it does.
func (c *Coordinator) Status(ctx context.Context, database, id string) (setmodel.Set, map[int]setmodel.ShardResult, error) {
	results := map[int]setmodel.ShardResult{}
	set, err := Requests{Coord: c}.readSetAndNewResults(ctx, setmodel.Set{Database: database, ID: id}, results, func(string, string) {})
	return set, results, err
}

// CachedSets is how many sets c keeps read as open, of every database.
func CachedSets(c *Coordinator) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sets)
}

// CachedReports is how many replica reports c remembers writing.
func CachedReports(c *Coordinator) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reported)
}

// StepEvery runs c's stepping of databases (what Run does under the
// node's lease) until ctx ends.
func StepEvery(ctx context.Context, c *Coordinator, databases []string, every time.Duration) {
	stepEvery(ctx, c, databases, every)
}

// AwaitVerdict is awaitVerdict.
var AwaitVerdict = awaitVerdict

// AnotherRequesters is anotherRequesters.
var AnotherRequesters = anotherRequesters
