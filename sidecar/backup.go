// Package sidecar is ClickVault's domain: backups and their metadata, chains,
// planning, retention and the one-writer lease, and the Service that runs
// backups, restores, verification and cleanup through two ports — an
// ObjectStore (S3) and a Database (ClickHouse). It imports no SDK; adapters
// live in sidecar/s3 and sidecar/clickhouse.
package sidecar

import (
	"encoding/json"
	"fmt"
	"time"
)

// Kind of a backup.
type Kind string

const (
	KindFull        Kind = "full"
	KindIncremental Kind = "incremental"
)

// ParseKind accepts what a request or flag may say: auto (""), full or
// incremental.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "", "auto":
		return "", nil
	case string(KindFull), string(KindIncremental):
		return Kind(s), nil
	}
	return "", fmt.Errorf("unknown backup kind %q: want auto, full or incremental", s)
}

// Status values stored in metadata. The seed tool wrote only BACKUP_CREATED;
// ClickVault also records a backup while it runs and when it failed, so a
// killed run is never silent data.
const (
	StatusCreating = "CREATING_BACKUP"
	StatusCreated  = "BACKUP_CREATED"
	StatusFailed   = "BACKUP_FAILED"
	StatusDeleting = "DELETING"
)

// MetaVersion is the metadata schema version ClickVault writes.
const MetaVersion = 2

// Meta is `.clickvault_meta.json`: a superset of the seed tool's schema.
type Meta struct {
	Version        int        `json:"version"`
	BackupID       string     `json:"backup_id"`
	Kind           Kind       `json:"kind"`
	Timestamp      time.Time  `json:"timestamp"`
	BaseBackupPath *string    `json:"base_backup_path"`
	Status         string     `json:"status"`
	TotalSize      uint64     `json:"total_size"`
	Database       string     `json:"database"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`

	Name              string            `json:"name"`
	Chain             string            `json:"chain"`
	Base              string            `json:"base"`
	NumFiles          uint64            `json:"num_files"`
	UncompressedSize  uint64            `json:"uncompressed_size"`
	CompressedSize    uint64            `json:"compressed_size"`
	ClickHouseVersion string            `json:"clickhouse_version"`
	Tables            map[string]uint64 `json:"tables"`
	Error             string            `json:"error,omitempty"`
	Host              string            `json:"host,omitempty"`
	// RequestID is the request the backup was taken for, written before the
	// BACKUP is sent: a sidecar restarted at any point finds the request's
	// backup by it and adopts it instead of taking a second one.
	RequestID string `json:"request_id,omitempty"`
}

// Completed reports whether the metadata says ClickHouse finished the backup.
func (m Meta) Completed() bool { return m.Status == StatusCreated }

// Failed reports whether the backup is known to be unusable.
func (m Meta) Failed() bool { return m.Status == StatusFailed || m.Status == StatusDeleting }

// CatalogStatus maps the metadata status to the catalog's words.
func (m Meta) CatalogStatus() string {
	switch m.Status {
	case StatusCreated:
		return "completed"
	case StatusCreating:
		return "running"
	case StatusDeleting:
		return "deleted"
	}
	return "failed"
}

// EncodeMeta renders metadata as the pretty JSON the seed tool wrote.
func EncodeMeta(m Meta) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode metadata of %s: %w", m.Name, err)
	}
	return append(b, '\n'), nil
}

// DecodeMeta reads metadata, also the seed tool's (version 1), whose unknown
// fields are ignored and whose missing ones stay empty.
func DecodeMeta(data []byte) (Meta, error) {
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return Meta{}, fmt.Errorf("decode metadata: %w", err)
	}
	if m.Kind != KindFull && m.Kind != KindIncremental {
		return Meta{}, fmt.Errorf("decode metadata: unknown kind %q", m.Kind)
	}
	return m, nil
}

// NameFormat is the timestamp folder name of a backup, in UTC with
// milliseconds: 20261123T120000123Z.
const NameFormat = "20060102T150405.000Z"

// NameAt returns the backup name for t.
func NameAt(t time.Time) string {
	s := t.UTC().Format(NameFormat)
	return s[:15] + s[16:] // drop the dot before the milliseconds
}

// ParseName reads the time a backup name stands for. The seed's early
// names without milliseconds are accepted too.
func ParseName(name string) (time.Time, error) {
	if len(name) == len("20060102T150405Z") {
		return time.Parse("20060102T150405Z", name)
	}
	if len(name) != len("20060102T150405000Z") {
		return time.Time{}, fmt.Errorf("parse backup name %q: want YYYYMMDDTHHMMSSmmmZ", name)
	}
	t, err := time.Parse(NameFormat, name[:15]+"."+name[15:])
	if err != nil {
		return time.Time{}, fmt.Errorf("parse backup name %q: %w", name, err)
	}
	return t, nil
}
