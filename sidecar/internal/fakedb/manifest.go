package fakedb

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"html"
	"sort"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// file is one file of a fake backup, as ClickHouse's manifest lists it.
type file struct {
	name, content string
	useBase       bool
}

func (f file) checksum() string {
	sum := md5.Sum([]byte(f.content))
	return hex.EncodeToString(sum[:])
}

// backupFiles are the files a BACKUP of tables writes: a definition and a
// data file per table. A file the base holds with the same size and
// checksum is kept there (use_base), as ClickHouse does for parts an
// incremental shares with its base.
func backupFiles(database string, tables map[string]uint64, parts map[string]map[string]uint64, base *manifest) []file {
	var out []file
	names := make([]string, 0, len(tables))
	for t := range tables {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		files := []file{{name: fmt.Sprintf("metadata/%s/%s.sql", database, t), content: "ATTACH TABLE " + t}}
		byPartition := parts[t]
		if byPartition == nil {
			byPartition = map[string]uint64{"all": tables[t]}
		}
		ids := make([]string, 0, len(byPartition))
		for id := range byPartition {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			files = append(files,
				file{name: fmt.Sprintf("data/%s/%s/%s_1_1_0/data.bin", database, t, id), content: fmt.Sprintf("%s.%s.%s=%d", database, t, id, byPartition[id])},
				file{name: fmt.Sprintf("data/%s/%s/%s_1_1_0/count.txt", database, t, id), content: fmt.Sprint(byPartition[id])})
		}
		for _, f := range files {
			f.useBase = base != nil && base.has(f)
			out = append(out, f)
		}
	}
	return out
}

func (m *manifest) has(f file) bool {
	for _, g := range m.files {
		if len(g.content) == len(f.content) && g.checksum() == f.checksum() {
			return true
		}
	}
	return false
}

// writeBackup puts the files not kept in the base, then the .backup
// manifest in ClickHouse's XML, last.
func (d *state) writeBackup(ctx context.Context, folder string, m manifest) (uint64, error) {
	var xml strings.Builder
	xml.WriteString("<config><version>1</version><deduplicate_files>1</deduplicate_files><contents>")
	for _, f := range m.files {
		fmt.Fprintf(&xml, "<file><name>%s</name><size>%d</size><checksum>%s</checksum>", html.EscapeString(f.name), len(f.content), f.checksum())
		if f.useBase {
			xml.WriteString("<use_base>true</use_base>")
		} else if _, err := d.store.Put(ctx, folder+f.name, []byte(f.content), coord.PutCondition{}); err != nil {
			return 0, err
		}
		xml.WriteString("</file>")
	}
	xml.WriteString("</contents></config>")
	if _, err := d.store.Put(ctx, coord.BackupFileKey(folder), []byte(xml.String()), coord.PutCondition{}); err != nil {
		return 0, err
	}
	return uint64(xml.Len()), nil
}
