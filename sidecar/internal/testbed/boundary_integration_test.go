package testbed

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductDoesNotImportTheTestBed: the test bed is test infrastructure.
// Go's internal/ rule still lets any package under sidecar/ import it, so
// this checks that no product package (the binary and everything it is
// built from) does.
func TestProductDoesNotImportTheTestBed(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/clickvault/clickvault/sidecar/cmd/clickvault").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "/sidecar/internal/") {
			t.Errorf("the clickvault binary is built from %s", pkg)
		}
	}
}
