package model

import (
	"runtime"
	"strings"
	"testing"
)

func TestIdentifiersAreLettersDigitsAndAtMost206Characters(t *testing.T) {
	for name, ok := range map[string]bool{
		"shop": true, "tenant_0001": true, "a-b": true, "ü" + strings.Repeat("ß", 205): true,
		strings.Repeat("a", 206): true, strings.Repeat("a", 207): false, strings.Repeat("ß", 207): false,
		"": false, "-a": false, "a b": false, "a`b": false, "a.b": false, "a/b": false,
	} {
		if err := ValidateIdentifier("database", name); (err == nil) != ok {
			t.Errorf("ValidateIdentifier(%.20q… of %d bytes) = %v, want accepted %v", name, len(name), err, ok)
		}
	}
	if err := ValidateIdentifier("database", strings.Repeat("a", 300)); err == nil || !strings.Contains(err.Error(), "at most 206") {
		t.Errorf("a name too long is refused for its length, got %v", err)
	}
}

// TestTheIdentifierRuleHoldsLittleMemory: serve's idle RSS has a 60 MB
// goal at a thousand databases, and a bounded repetition over Unicode
// classes ({0,205}) once held 4.3 MB of it.
func TestTheIdentifierRuleHoldsLittleMemory(t *testing.T) {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	// The rule is compiled at init; what the package holds in all is a bound on it.
	if m.HeapAlloc > 2<<20 {
		t.Errorf("the model package's tests start with %d KiB of heap; its rules should hold far less than 2 MiB", m.HeapAlloc>>10)
	}
}
