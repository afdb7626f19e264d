package model

import (
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

// Backup is one backup folder and its metadata.
type Backup struct {
	Meta
	Folder string // key of the folder, with a trailing slash
	Legacy bool   // written by the seed tool, in its layout
}

// Time orders backups: the metadata's timestamp.
func (b Backup) Time() time.Time { return b.Timestamp }

// FormatBytes writes a size for people: 1.5 GiB.
func FormatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
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
