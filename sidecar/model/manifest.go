package model

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Manifest is ClickHouse's .backup object: every file of a backup with its
// size and checksum. A file whose base_size is set is (partly) in the base
// backup, found there by base size and checksum; the rest of it, size −
// base_size bytes, is the object data_file (its own name unless the
// backup deduplicated it onto another file's) in this backup's folder. A
// file of size 0 has no object.
type Manifest struct {
	Files []ManifestFile `xml:"contents>file"`
}

// ManifestFile is one <file> of a manifest.
type ManifestFile struct {
	Name         string `xml:"name"`
	Size         uint64 `xml:"size"`
	Checksum     string `xml:"checksum"`
	UseBase      bool   `xml:"use_base"`
	BaseSize     uint64 `xml:"base_size"`
	BaseChecksum string `xml:"base_checksum"`
	DataFile     string `xml:"data_file"`
}

// FileKey is how ClickHouse finds a file's data: by size and checksum.
type FileKey struct {
	Size     uint64
	Checksum string
}

// ParseManifest reads a .backup object, filling what ClickHouse leaves
// implicit: use_base without base_size means the whole file is in the base.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	if err := xml.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("parse %s: %w", coord.BackupFile, err)
	}
	for i := range m.Files {
		f := &m.Files[i]
		if f.UseBase && f.BaseSize == 0 {
			f.BaseSize, f.BaseChecksum = f.Size, f.Checksum
		}
		if f.BaseSize > f.Size {
			return Manifest{}, fmt.Errorf("parse %s: file %s has base_size %d over its size %d", coord.BackupFile, f.Name, f.BaseSize, f.Size)
		}
		if f.DataFile == "" {
			f.DataFile = f.Name
		}
	}
	return m, nil
}

// StoredSize is how many bytes of the file are an object of this backup.
func (f ManifestFile) StoredSize() uint64 { return f.Size - f.BaseSize }

// ByKey indexes the files by size and checksum, the first of each key, as
// ClickHouse reads them.
func (m Manifest) ByKey() map[FileKey]ManifestFile {
	out := make(map[FileKey]ManifestFile, len(m.Files))
	for _, f := range m.Files {
		k := FileKey{Size: f.Size, Checksum: f.Checksum}
		if _, ok := out[k]; !ok && f.Size > 0 {
			out[k] = f
		}
	}
	return out
}

// TableBytes sums, per table of database, the sizes of the table's files
// in the backup: what restoring the table reads, wherever the bytes are
// kept (this backup or a base).
func (m Manifest) TableBytes(database string) map[string]uint64 {
	out := map[string]uint64{}
	for _, f := range m.Files {
		parts := strings.SplitN(f.Name, "/", 4)
		if len(parts) == 4 && parts[0] == "data" && unescapeFileName(parts[1]) == database {
			out[unescapeFileName(parts[2])] += f.Size
		}
	}
	return out
}

// MaxManifestRead bounds the manifest a completed backup reads for the
// sizes of its tables; a bigger one (a database of millions of files) is
// left for check to read, and the catalog shows no sizes for it.
const MaxManifestRead = 64 << 20
