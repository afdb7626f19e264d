package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// placeValues gives each key of S3Place a value; a key added to S3Place
// without one here fails TestS3AndCopyShareThePlaceKeys.
var placeValues = map[string]string{
	"endpoint": "http://127.0.0.1:9300", "clickhouse_endpoint": "http://minio:9300", "bucket": "b",
	"prefix": "p/q", "region": "eu-west-3", "access_key": "ak-1", "secret_key": "sk-2", "named_collection": "nc",
}

// TestS3AndCopyShareThePlaceKeys: every key of a place reads the same under
// [s3] and under a [[copy]] target, from the file and from the environment
// (CLICKVAULT_S3_KEY, CLICKVAULT_COPY_NAME_KEY): one struct, one meaning.
func TestS3AndCopyShareThePlaceKeys(t *testing.T) {
	var s3, copy, env strings.Builder
	var vars []string
	for _, f := range keyFields(reflect.TypeFor[S3Place]()) {
		key := f.Tag.Get("koanf")
		v, ok := placeValues[key]
		if !ok {
			t.Fatalf("S3Place key %q has no value in placeValues", key)
		}
		fmt.Fprintf(&s3, "%s = %q\n", key, v)
		if key == "bucket" {
			fmt.Fprintf(&copy, "%s = %q\n", key, "dr-"+v) // the same place as [s3]'s is refused
			vars = append(vars, "CLICKVAULT_COPY_VIA_ENV_BUCKET=env-"+v)
			continue
		}
		fmt.Fprintf(&copy, "%s = %q\n", key, v)
		vars = append(vars, "CLICKVAULT_COPY_VIA_ENV_"+strings.ToUpper(key)+"="+v)
	}
	env.WriteString("[[copy]]\nname = \"via_env\"\nbucket = \"placeholder\"\n")
	body := "[clickhouse]\naddr = \"127.0.0.1:9000\"\ndatabase = \"shop\"\n[s3]\n" + s3.String() +
		"[[copy]]\nname = \"dr\"\n" + copy.String() + env.String()
	cfg, err := Load(writeConfig(t, body), false, func() []string { return vars })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.S3.Region != "eu-west-3" || cfg.S3.SecretKey.Reveal() != "sk-2" || cfg.S3.NamedCollection != "nc" || cfg.ClickHouseS3Endpoint() != "http://minio:9300" {
		t.Fatalf("[s3] read %+v", cfg.S3)
	}
	dr, _ := cfg.CopyTarget("dr")
	viaEnv, _ := cfg.CopyTarget("via_env")
	primary := cfg.S3.S3Place
	primary.Bucket = "dr-b"
	if dr.S3Place != primary {
		t.Errorf("[[copy]] dr read %+v, want [s3]'s keys %+v", dr.S3Place, primary)
	}
	primary.Bucket = "env-b"
	if viaEnv.S3Place != primary {
		t.Errorf("[[copy]] via_env from the environment read %+v, want %+v", viaEnv.S3Place, primary)
	}
}
