package config

import (
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// TestAttack26CopyTargetIsThePrimaryInDisguise: a [[copy]] target whose
// place is the primary's, spelled otherwise, is the primary: ClickVault
// writes and deletes the same keys there (coord.Layout joins the prefix
// with path.Join, which cleans "." and ".."; S3 endpoints are URLs, whose
// host has no case and whose default port may be written or not; "" is
// AWS's endpoint of the region, as ClickHouseS3Endpoint itself says). Such
// a target must be refused as the primary's place is. Today only the
// literal spelling is: the copy "holds" every backup at once (copies,
// status page, lag 0), and `cleanup --copy` applies the target's rules to
// the primary's own chains.
func TestAttack26CopyTargetIsThePrimaryInDisguise(t *testing.T) {
	// The keys a prefix with a "." element names are the primary's own.
	if a, b := (coord.Layout{Prefix: "./clickhouse"}).Folder("shop", "full", "x"), (coord.Layout{Prefix: "clickhouse"}).Folder("shop", "full", "x"); a != b {
		t.Fatalf("premise: %q and %q are different keys", a, b)
	}
	const primary = `
[clickhouse]
addr = "127.0.0.1:9000"
database = "shop"
[s3]
%s
bucket = "backups"
`
	cases := map[string]struct{ s3, copy string }{
		"prefix with a dot element": {
			s3:   `endpoint = "http://127.0.0.1:9100"`,
			copy: "endpoint = \"http://127.0.0.1:9100\"\nbucket = \"backups\"\nprefix = \"./clickhouse\"\n",
		},
		"prefix climbing back": {
			s3:   `endpoint = "http://127.0.0.1:9100"`,
			copy: "endpoint = \"http://127.0.0.1:9100\"\nbucket = \"backups\"\nprefix = \"dr/../clickhouse\"\n",
		},
		"AWS's endpoint of the region spelled out": {
			s3:   `region = "eu-west-1"`,
			copy: "endpoint = \"https://s3.eu-west-1.amazonaws.com\"\nregion = \"eu-west-1\"\nbucket = \"backups\"\n",
		},
		"host in capitals": {
			s3:   `endpoint = "http://minio.internal:9000"`,
			copy: "endpoint = \"http://MinIO.internal:9000\"\nbucket = \"backups\"\n",
		},
		"default port written": {
			s3:   `endpoint = "https://minio.internal"`,
			copy: "endpoint = \"https://minio.internal:443\"\nbucket = \"backups\"\n",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			body := strings.Replace(primary, "%s", c.s3, 1) + "\n[[copy]]\nname = \"dr\"\n" + c.copy
			_, err := Load(writeConfig(t, body), false, noEnv)
			// Refused naming the target (as the primary's place, or for a
			// spelling ClickVault will not take): either way not accepted.
			if err == nil || !strings.Contains(err.Error(), "copy.dr.") {
				t.Errorf("DEFECT: a copy target at the primary's own place (%s) is accepted: %v", strings.ReplaceAll(c.copy, "\n", " "), err)
			}
		})
	}
}
