package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantAll fails unless err's text holds every part.
func wantAll(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("the error does not say %q:\n%v", p, err)
		}
	}
}

// TestFirstContact: on a machine with no config file yet, the message says
// which file was looked for and is absent, each missing key with its
// environment variable, and where the commented example is.
func TestFirstContact(t *testing.T) {
	absent := filepath.Join(t.TempDir(), "etc", "clickvault", "config.toml")
	_, err := Load(absent, true, noEnv)
	wantAll(t, err, absent+" was looked for and is absent", "only the defaults and the environment",
		"s3.bucket: is required", "bucket under [s3]", "CLICKVAULT_S3_BUCKET", ExampleFile, ReferenceFile)
	var se *SourceError
	var key *Error
	if !errors.As(err, &se) || !se.Absent || se.Path != absent || !errors.As(err, &key) || key.Key != "s3.bucket" {
		t.Fatalf("want a *SourceError (absent %s) holding the key's *Error, got %#v", absent, err)
	}

	// The environment alone is enough: no file needed.
	if _, err := Load(absent, true, func() []string { return []string{"CLICKVAULT_S3_BUCKET=backups"} }); err != nil {
		t.Fatalf("bucket from the environment, no file: %v", err)
	}

	// Both required keys missing (region set empty on purpose): both named, each with its variable.
	_, err = Load(absent, true, func() []string { return []string{"CLICKVAULT_S3_REGION="} })
	wantAll(t, err, "CLICKVAULT_S3_BUCKET", "s3.region: is required", "CLICKVAULT_S3_REGION")
}

// TestMissingKeyNamesTheFileRead: a file that exists but lacks a key is
// named as the file read, not as absent.
func TestMissingKeyNamesTheFileRead(t *testing.T) {
	path := writeConfig(t, strings.Replace(minimal, `bucket = "backups"`, ``, 1))
	_, err := Load(path, true, noEnv)
	wantAll(t, err, path+", with the environment's overrides", "s3.bucket: is required", "CLICKVAULT_S3_BUCKET", ExampleFile)
	if strings.Contains(err.Error(), "absent") {
		t.Errorf("the file exists, the message says it is absent:\n%v", err)
	}

	// A bad value is not a missing key: the file is named, the example is not pushed.
	_, err = Load(writeConfig(t, minimal+"\n[retention]\nkeep_full_backups = 0\n"), false, noEnv)
	wantAll(t, err, "config.toml, with the environment's overrides", "retention.keep_full_backups")
	if strings.Contains(err.Error(), ExampleFile) {
		t.Errorf("no key is missing, yet the message points at the example:\n%v", err)
	}
}

// TestFirstContactPointsAtRealFiles keeps the message from pointing at
// files that moved.
func TestFirstContactPointsAtRealFiles(t *testing.T) {
	for _, f := range []string{ExampleFile, ReferenceFile} {
		if _, err := os.Stat(filepath.Join("..", "..", f)); err != nil {
			t.Errorf("the missing-key message points at %s: %v", f, err)
		}
	}
}
