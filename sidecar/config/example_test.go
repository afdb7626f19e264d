package config

import (
	"os"
	"strings"
	"testing"
)

const examplePath = "../../deploy/config.example.toml"

// TestExampleConfigLoads keeps deploy/config.example.toml from rotting: it
// loads without error and mentions every key of the configuration, and so
// does docs/configuration.md, where the manual lists them.
func TestExampleConfigLoads(t *testing.T) {
	if _, err := Load(examplePath, false, noEnv); err != nil {
		t.Fatalf("the example config does not load: %v", err)
	}
	text, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for key := range knownKeys() {
		section, field, _ := strings.Cut(key, ".")
		if key == "clickhouse.url" || key == "notifications.providers" {
			continue // refused with a hint / shown as commented tables
		}
		if !strings.Contains(string(text), "["+section+"]") || !strings.Contains(string(text), "\n"+field+" = ") {
			t.Errorf("the example config does not document %s", key)
		}
		if !strings.Contains(string(readme), "`"+key+"`") && !strings.Contains(string(readme), "`"+field+"`") {
			t.Errorf("docs/configuration.md does not document %s", key)
		}
	}
}
