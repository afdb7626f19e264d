package memcontrol_test

import (
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/controltest"
	"github.com/clickvault/clickvault/sidecar/internal/memcontrol"
)

// TestControlContract runs the contract suite that the SQL control plane
// runs on the test bed (clickhouse.TestControlContract).
func TestControlContract(t *testing.T) {
	controltest.Contract(t, func(*testing.T) controltest.Plane {
		return memcontrol.New(controltest.OwnUser).WithProofKey(controltest.ProofKey)
	})
}
