package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status is a backup's state as its metadata records it.
type Status string

// Status values stored in metadata. The seed tool wrote only BACKUP_CREATED;
// ClickVault also records a backup while it runs and when it failed, so a
// killed run is never silent data.
const (
	StatusCreating Status = "CREATING_BACKUP"
	StatusCreated  Status = "BACKUP_CREATED"
	StatusFailed   Status = "BACKUP_FAILED"
	StatusDeleting Status = "DELETING"
)

// CatalogStatus is a backup's state in the people's words of the catalog
// (clickvault.backups), list and the status page.
type CatalogStatus string

// The catalog's statuses.
const (
	CatalogRunning   CatalogStatus = "running"
	CatalogCompleted CatalogStatus = "completed"
	CatalogFailed    CatalogStatus = "failed"
	CatalogDeleted   CatalogStatus = "deleted"
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
	Status         Status     `json:"status"`
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
	// TableBytes is, per table, the size of its files in the backup (read
	// from ClickHouse's manifest when the backup completed).
	TableBytes map[string]uint64 `json:"table_bytes,omitempty"`
	// TableSet is which tables the backup holds; empty for every table
	// (and in metadata written before table sets existed).
	TableSet
	// KindReason says why the backup is a full or an incremental (the
	// plan's reason); FullForced marks a full taken instead of the
	// incremental the chain would have had (a broken chain, an incremental
	// that grew too big).
	KindReason string `json:"kind_reason,omitempty"`
	FullForced bool   `json:"full_forced,omitempty"`
	// Objects sums up the objects the backup holds in its own folder, from
	// its manifest when it completed; nil before it completed and in
	// metadata written before it existed.
	Objects *ObjectSummary `json:"objects,omitempty"`
}

// StoredBytes is what the backup added to the bucket, the bytes deleting
// it frees: the objects of its own folder, as summed from its manifest
// when it completed; before that summary existed, ClickHouse's
// uncompressed_size, which counts the files the backup wrote (for an
// incremental, not those it takes from its base). Its logical size, what a
// restore of it brings back with its bases, is TotalSize. 0 in the seed's
// metadata, which records neither.
func (m Meta) StoredBytes() uint64 {
	if m.Objects != nil {
		return m.Objects.Bytes
	}
	return m.UncompressedSize
}

// Completed reports whether the metadata says ClickHouse finished the backup.
func (m Meta) Completed() bool { return m.Status == StatusCreated }

// Failed reports whether the backup is known to be unusable.
func (m Meta) Failed() bool { return m.Status == StatusFailed || m.Status == StatusDeleting }

// CatalogStatus maps the metadata status to the catalog's words.
func (m Meta) CatalogStatus() CatalogStatus {
	switch m.Status {
	case StatusCreated:
		return CatalogCompleted
	case StatusCreating:
		return CatalogRunning
	case StatusDeleting:
		return CatalogDeleted
	}
	return CatalogFailed
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

var ErrBadMeta = errors.New("unreadable metadata")
