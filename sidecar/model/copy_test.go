package model

import (
	"strings"
	"testing"
)

func TestRebaseManifestNamesTheCopysBase(t *testing.T) {
	const manifest = `<config><version>1</version><base_backup>S3('http://primary:9000/backups/cv/shop/full/N1/')</base_backup>` +
		`<base_backup_uuid>u</base_backup_uuid><contents><file><name>base_backup</name><size>1</size></file></contents></config>`
	got, err := RebaseManifest([]byte(manifest), "S3('http://copy:9000/dr/cv/shop/full/N1/?a=1&b=2')")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(manifest, "http://primary:9000/backups/", "http://copy:9000/dr/", 1)
	want = strings.Replace(want, "/N1/')", "/N1/?a=1&amp;b=2')", 1)
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	m, err := ParseManifest(got)
	if err != nil || len(m.Files) != 1 {
		t.Fatalf("the rebased manifest does not parse: %v", err)
	}
	full := `<config><version>1</version><contents><file><name>x</name></file></contents></config>`
	if got, err := RebaseManifest([]byte(full), "S3('x')"); err != nil || string(got) != full {
		t.Fatalf("a full's manifest changed: %s, %v", got, err)
	}
	if _, err := RebaseManifest([]byte(`<config><base_backup>S3('x')<contents></contents>`), "S3('y')"); err == nil {
		t.Fatal("an unclosed base_backup was taken")
	}
}

func TestCopiedMetaLinksTheCopysBase(t *testing.T) {
	primaryBase := "cv/shop/full/N1/"
	m := Meta{Name: "N2", Status: StatusCreated, BaseBackupPath: &primaryBase, Base: "N1"}
	manifest := Manifest{Files: []ManifestFile{{Name: "a", DataFile: "a", Size: 10}}}
	got, err := CopiedMeta(m, "dr/shop/full/N1/", manifest, 99)
	if err != nil {
		t.Fatal(err)
	}
	if *got.BaseBackupPath != "dr/shop/full/N1/" || *m.BaseBackupPath != primaryBase {
		t.Fatalf("base_backup_path %q (primary's now %q)", *got.BaseBackupPath, *m.BaseBackupPath)
	}
	if got.Objects == nil || got.Objects.Count != 2 || got.Objects.Bytes != 109 {
		t.Fatalf("objects = %+v", got.Objects)
	}
	m.Status = StatusCreating
	if _, err := CopiedMeta(m, "x/", manifest, 1); err == nil {
		t.Fatal("a running backup's metadata was copied")
	}
}
