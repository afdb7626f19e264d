package testbed

import (
	"fmt"
	"os"
	"path/filepath"
)

// The S3 disk of Options.S3Disk: ClickHouse's disk S3Disk keeps its
// objects in MinIO's bucket DiskBucket, under DiskPrefix, and the storage
// policy S3Policy has it as its one volume, so a table created with
// SETTINGS storage_policy = 's3' keeps every part in MinIO.
const (
	DiskBucket = "disks"
	DiskPrefix = "data/"
	S3Disk     = "s3disk"
	S3Policy   = "s3"
)

// writeS3DiskConfig gives the server the S3 disk and its policy, in the
// config.d next to its config.xml (merged into it at start), with MinIO's
// keys: the disk is ClickHouse's own, not the backups'.
func writeS3DiskConfig(c *ClickHouse, m *MinIO) error {
	xml := fmt.Sprintf(`<clickhouse>
<storage_configuration>
<disks><%[1]s><type>s3</type><endpoint>%[2]s</endpoint><access_key_id>%[3]s</access_key_id><secret_access_key>%[4]s</secret_access_key></%[1]s></disks>
<policies><%[5]s><volumes><main><disk>%[1]s</disk></main></volumes></%[5]s></policies>
</storage_configuration>
</clickhouse>
`, S3Disk, xmlText(m.BucketURL(DiskBucket, DiskPrefix)), xmlText(m.AccessKey), xmlText(m.SecretKey), S3Policy)
	return writeServerConfig(c, "s3disk.xml", xml)
}

// writeServerConfig puts one file into the server's config.d, next to its
// config.xml, where the server merges it in at start.
func writeServerConfig(c *ClickHouse, name, xml string) error {
	confd := filepath.Join(filepath.Dir(c.LogPath()), "config.d")
	if err := os.MkdirAll(confd, 0o750); err != nil {
		return fmt.Errorf("create the server's config.d: %w", err)
	}
	if err := os.WriteFile(filepath.Join(confd, name), []byte(xml), 0o600); err != nil {
		return fmt.Errorf("write the server's %s: %w", name, err)
	}
	return nil
}
