package sidecar

import (
	"path"
	"strings"
)

// Object names inside a backup folder.
const (
	MetaFile   = ".clickvault_meta.json"
	BackupFile = ".backup" // written by ClickHouse last: the completion marker
	LockFile   = ".clickvault.lock"
	PinsFolder = ".clickvault_pins" // one object per operation reading backups (pin.go)
)

// Layout places backups in the bucket:
//
//	{prefix}/{database}/full/{name}/
//	{prefix}/{database}/incremental/{name}/
//	{prefix}/{database}/.clickvault.lock
//	{prefix}/{database}/.clickvault_pins/{pin id}.json
//
// The seed tool's layout ({prefix}/full/{name}/, no database) is read too.
//
// In a cluster each shard keeps its own chains, lease and catalog in a
// folder of the database ({prefix}/{database}/{Shard}/full/{name}/ …, see
// package cluster); Shard is "" on a single server.
type Layout struct {
	Prefix string
	Shard  string
}

func (l Layout) join(parts ...string) string {
	p := strings.Trim(l.Prefix, "/")
	if p != "" {
		parts = append([]string{p}, parts...)
	}
	return path.Join(parts...)
}

// under joins parts below a database's folder: the shard's, in a cluster
// (path.Join drops an empty Shard).
func (l Layout) under(database string, parts ...string) string {
	return l.join(append([]string{database, l.Shard}, parts...)...)
}

// ControlKey is a key of ClickVault's own bookkeeping, under
// {prefix}/.clickvault/: the prefix's owner, probes, request claims,
// sidecar heartbeats, schedule slots.
func (l Layout) ControlKey(parts ...string) string {
	return l.join(append([]string{".clickvault"}, parts...)...)
}

// DatabaseRoot is the folder of one database's backups, with a trailing slash.
func (l Layout) DatabaseRoot(database string) string { return l.under(database) + "/" }

// KindRoot is the folder of one kind of backup of a database.
func (l Layout) KindRoot(database string, kind Kind) string {
	return l.under(database, string(kind)) + "/"
}

// LegacyKindRoot is where the seed tool kept one kind of backup.
func (l Layout) LegacyKindRoot(kind Kind) string { return l.join(string(kind)) + "/" }

// Folder is a backup's folder, with a trailing slash.
func (l Layout) Folder(database string, kind Kind, name string) string {
	return l.under(database, string(kind), name) + "/"
}

// LockKey is the lease object of a database's chains.
func (l Layout) LockKey(database string) string { return l.under(database, LockFile) }

// PinsRoot is the folder of a database's pins, with a trailing slash: a
// cleanup lists it once.
func (l Layout) PinsRoot(database string) string { return l.under(database, PinsFolder) + "/" }

// PinKey is one pin of a database's backups.
func (l Layout) PinKey(database, id string) string { return l.under(database, PinsFolder, id+".json") }

// MetaKey is the metadata object in a backup folder.
func MetaKey(folder string) string { return folder + MetaFile }

// BackupFileKey is ClickHouse's completion marker in a backup folder.
func BackupFileKey(folder string) string { return folder + BackupFile }

// FolderName is the last element of a folder: the backup's name.
func FolderName(folder string) string { return path.Base(strings.TrimSuffix(folder, "/")) }
