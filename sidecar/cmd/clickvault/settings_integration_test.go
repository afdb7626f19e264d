package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestBackupSettingsReachClickHouse: the [backup] section is sent with the
// BACKUP: the objects ClickHouse writes have the storage class asked for,
// and a storage class the store refuses fails the backup with S3's answer.
func TestBackupSettingsReachClickHouse(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(1000)
	cfg := h.writeConfig("[backup]\ns3_storage_class = \"REDUCED_REDUNDANCY\"\nmax_backup_bandwidth = 100000000\n" +
		"allow_s3_native_copy = false\ndeduplicate_files = false\n")
	if r := h.run(cfg, "backup"); r.code != 0 {
		t.Fatalf("backup: %d %s", r.code, r.stderr)
	}
	out, err := h.bed.MinIO.Client().ListObjectsV2(h.ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(h.bed.MinIO.Bucket), Prefix: aws.String("cv/test/shop/full/")})
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]int{}
	for _, o := range out.Contents {
		if !strings.HasSuffix(aws.ToString(o.Key), ".clickvault_meta.json") {
			classes[string(o.StorageClass)]++
		}
	}
	if len(classes) != 1 || classes["REDUCED_REDUNDANCY"] == 0 {
		t.Fatalf("storage classes of the backup's objects: %v", classes)
	}
	bad := h.writeConfig("[backup]\ns3_storage_class = \"DEEP_ARCHIVE_PLEASE\"\n")
	if r := h.run(bad, "backup"); r.code == 0 || !strings.Contains(r.stderr, "InvalidStorageClass") {
		t.Fatalf("a storage class MinIO refuses: %d %s", r.code, r.stderr)
	}
}
