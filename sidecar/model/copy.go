package model

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// ClickHouse writes where an incremental's base is into its .backup
// manifest: <base_backup>S3('http://endpoint/bucket/…/full/N/')</base_backup>,
// an absolute address without credentials, read by every RESTORE of it
// and of every backup built on it. A copy's manifest must name the copy of
// the base, or a restore from the copy reads the base from the primary.
var (
	baseOpen  = []byte("<base_backup>")
	baseClose = []byte("</base_backup>")
	contents  = []byte("<contents>")
	xmlText   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
)

// RebaseManifest returns a manifest whose base is base (what ClickHouse
// reads as its base_backup, such as S3('http://…/full/N/')). A manifest
// with no base (a full's) is returned as it is.
func RebaseManifest(data []byte, base string) ([]byte, error) {
	head := data
	if i := bytes.Index(data, contents); i >= 0 {
		head = data[:i] // a file's name inside <contents> is never the base
	}
	start := bytes.Index(head, baseOpen)
	if start < 0 {
		return data, nil
	}
	start += len(baseOpen)
	n := bytes.Index(head[start:], baseClose)
	if n < 0 {
		return nil, fmt.Errorf("rebase %s: <base_backup> is not closed", coord.BackupFile)
	}
	// As ClickHouse writes text: & < > escaped, quotes as they are.
	escaped := xmlText.Replace(base)
	out := make([]byte, 0, len(data)-n+len(escaped))
	out = append(out, data[:start]...)
	out = append(out, escaped...)
	return append(out, data[start+n:]...), nil
}

// ErrNotCopyable is a backup a copy cannot take as it is: not completed.
var ErrNotCopyable = errors.New("not a completed backup")

// CopiedMeta is a backup's metadata as its copy holds it: the same, but
// for the copy's folder of its base (baseFolder; base_backup_path is how a
// catalog links a backup to its base) and the summary of the objects the
// copy holds (its manifest was rebased, so its size differs).
func CopiedMeta(m Meta, baseFolder string, manifest Manifest, manifestSize uint64) (Meta, error) {
	if !m.Completed() {
		return Meta{}, fmt.Errorf("copy backup %s (status %s): %w", m.Name, m.Status, ErrNotCopyable)
	}
	if m.BaseBackupPath != nil {
		m.BaseBackupPath = &baseFolder
	}
	sum := SummarizeObjects(manifest.Objects(manifestSize))
	m.Objects = &sum
	return m, nil
}
