package config

import (
	"strings"
	"testing"
)

// TestFullWhenIncrementalExceeds: backup.full_when_incremental_exceeds is
// off by default, set from the file or CLICKVAULT_BACKUP_FULL_WHEN_INCREMENTAL_EXCEEDS
// (the environment wins), and a negative or non-numeric value is refused
// naming the key.
func TestFullWhenIncrementalExceeds(t *testing.T) {
	cfg, err := Load(writeConfig(t, minimal), false, noEnv)
	if err != nil || cfg.Backup.FullWhenIncrementalExceeds != 0 {
		t.Fatalf("default: %v, %v", cfg.Backup.FullWhenIncrementalExceeds, err)
	}
	path := writeConfig(t, minimal+"\n[backup]\nfull_when_incremental_exceeds = 0.5\n")
	if cfg, err = Load(path, false, noEnv); err != nil || cfg.Backup.FullWhenIncrementalExceeds != 0.5 {
		t.Fatalf("from the file: %v, %v", cfg.Backup.FullWhenIncrementalExceeds, err)
	}
	env := func() []string { return []string{"CLICKVAULT_BACKUP_FULL_WHEN_INCREMENTAL_EXCEEDS=0.25"} }
	if cfg, err = Load(path, false, env); err != nil || cfg.Backup.FullWhenIncrementalExceeds != 0.25 {
		t.Fatalf("from the environment: %v, %v", cfg.Backup.FullWhenIncrementalExceeds, err)
	}
	for _, bad := range []string{"-0.5", `"half"`, "nan", "inf"} {
		_, err := Load(writeConfig(t, minimal+"\n[backup]\nfull_when_incremental_exceeds = "+bad+"\n"), false, noEnv)
		if err == nil || !strings.Contains(err.Error(), "full_when_incremental_exceeds") {
			t.Errorf("%s: want an error naming the key, got %v", bad, err)
		}
	}
}
