package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/clickvault/clickvault/sidecar/model"
)

// CopyTarget is one [[copy]] table: a second S3 place every completed
// backup is copied to, with its own endpoint, bucket, prefix and
// credentials. The keys mean what they mean under [s3].
type CopyTarget struct {
	Name    string `koanf:"name"`
	S3Place `koanf:",squash,flatten"`
	// Retention, from a [copy.retention] table, is the target's own: what
	// `cleanup --copy NAME` keeps there and what a copy round sends (a
	// backup it would delete is not copied). nil: the primary's [retention].
	Retention *Retention `koanf:"retention"`
}

// copyKeys are the keys a [[copy]] table may have: CopyTarget's.
var copyKeys = func() map[string]bool {
	out := map[string]bool{}
	for _, f := range keyFields(reflect.TypeFor[CopyTarget]()) {
		out[f.Tag.Get("koanf")] = true
	}
	return out
}()

// copyNameRe is a target's name: it is a label of a metric, a flag's
// value and part of an environment variable's name, so lower case letters,
// digits and _ only.
var copyNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// CopyTarget returns the target called name.
func (c Config) CopyTarget(name string) (CopyTarget, bool) {
	for _, t := range c.Copy {
		if t.Name == name {
			return t, true
		}
	}
	return CopyTarget{}, false
}

// CopyNames lists the copy targets' names, in the file's order.
func (c Config) CopyNames() []string {
	out := make([]string, len(c.Copy))
	for i, t := range c.Copy {
		out[i] = t.Name
	}
	return out
}

// SameStore reports whether the target is reached at the primary's
// endpoint with the primary's credentials: then S3 copies its objects
// itself (server-side), and no byte passes through ClickVault.
func (c Config) SameStore(t CopyTarget) bool {
	return strings.TrimRight(t.Endpoint, "/") == strings.TrimRight(c.S3.Endpoint, "/") && t.Region == c.S3.Region &&
		t.AccessKey == c.S3.AccessKey && t.SecretKey == c.S3.SecretKey
}

func (c Config) validateCopies(add addFunc) {
	seen := map[string]bool{}
	for i, t := range c.Copy {
		key := fmt.Sprintf("copy[%d]", i)
		if copyNameRe.MatchString(t.Name) {
			key = "copy." + t.Name
		} else {
			add(key+".name", "must be 1 to 32 lower case letters, digits or _, starting with a letter, got %q", t.Name)
		}
		if seen[t.Name] {
			add(key+".name", "names two copy targets; each needs its own name")
		}
		seen[t.Name] = true
		c.validateCopy(add, key, t)
		if t.Retention != nil {
			validateRetention(add, key+".retention", *t.Retention)
		}
	}
}

func (c Config) validateCopy(add addFunc, key string, t CopyTarget) {
	if t.Bucket == "" {
		add(key+".bucket", "is required: the bucket the copies go to")
	}
	if t.Region == "" {
		add(key+".region", "must not be empty (default us-east-1)")
	}
	for field, v := range map[string]string{"endpoint": t.Endpoint, "clickhouse_endpoint": t.ClickHouseEndpoint} {
		if v != "" {
			if err := validateURL(v); err != nil {
				add(key+"."+field, "%v", err)
			}
		}
	}
	if strings.Contains(t.Prefix, "//") {
		add(key+".prefix", "must not contain an empty path element: %q", t.Prefix)
	}
	if t.NamedCollection != "" {
		if err := model.ValidateIdentifier("named collection", t.NamedCollection); err != nil {
			add(key+".named_collection", "%v", err)
		}
	}
	if t.Bucket == "" {
		return
	}
	if overlaps(place(c.S3.Endpoint, c.S3.Region), c.S3.Bucket, c.S3.Prefix, place(t.Endpoint, t.Region), t.Bucket, t.Prefix) {
		add(key+".prefix", "is the primary's place (s3.endpoint, s3.bucket, s3.prefix) or inside or around it: a copy must be elsewhere")
	}
	for _, o := range c.Copy {
		if o.Name < t.Name && overlaps(place(o.Endpoint, o.Region), o.Bucket, o.Prefix, place(t.Endpoint, t.Region), t.Bucket, t.Prefix) {
			add(key+".prefix", "is the place of copy target %q too, or inside or around it", o.Name)
		}
	}
}

// overlaps reports whether two places of one store share keys: the same
// endpoint (as place spells it) and bucket, and one prefix is the other or
// a folder of it once cleaned as keys are joined (path.Join drops "." and
// climbs "..").
func overlaps(endpointA, bucketA, prefixA, endpointB, bucketB, prefixB string) bool {
	if endpointA != endpointB || bucketA != bucketB {
		return false
	}
	a, b := cleanPrefix(prefixA), cleanPrefix(prefixB)
	return a == "/" || b == "/" || strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// cleanPrefix is a prefix as keys under it are spelled, with a slash at
// each end ("/" for none).
func cleanPrefix(p string) string {
	c := strings.Trim(path.Clean("/"+p), "/")
	if c == "" {
		return "/"
	}
	return "/" + c + "/"
}

// place is an endpoint as one store: AWS's regional endpoint for "", the
// scheme and host in lower case, the scheme's default port dropped, no
// trailing slash. Two spellings of one place compare equal.
func place(endpoint, region string) string {
	if endpoint == "" {
		endpoint = "https://s3." + region + ".amazonaws.com"
	}
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil || u.Host == "" {
		return strings.ToLower(strings.TrimRight(endpoint, "/"))
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return scheme + "://" + host + strings.TrimRight(u.Path, "/")
}

// copyEnv is the environment's say on copy targets:
// CLICKVAULT_COPY_<NAME>_<KEY> sets key of the target named name, declared
// in the file (a table of an array has no name the environment could
// create it by). A variable naming no declared target or no key is
// refused, naming the variable.
func (c *Config) applyCopyEnv(environ []string) error {
	names := c.CopyNames()
	// The longest name first: dr_site_2 before dr_site.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	var errs []error
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, EnvPrefix+"COPY_")
		if !ok {
			continue
		}
		rest = strings.ToLower(rest)
		target, field := "", ""
		for _, n := range names {
			if f, ok := strings.CutPrefix(rest, n+"_"); ok && copyKeys[f] && f != "name" && f != "retention" {
				target, field = n, f
				break
			}
		}
		if target == "" {
			errs = append(errs, &Error{Key: name, Msg: fmt.Sprintf("names no key of a copy target of the file (%s): "+
				"CLICKVAULT_COPY_<NAME>_<KEY> sets a key of the [[copy]] target called name", strings.Join(c.CopyNames(), ", "))})
			continue
		}
		i := slices.IndexFunc(c.Copy, func(t CopyTarget) bool { return t.Name == target })
		setCopyField(&c.Copy[i], field, value)
	}
	return errors.Join(errs...)
}

func setCopyField(t *CopyTarget, field, value string) {
	switch field {
	case "endpoint":
		t.Endpoint = value
	case "clickhouse_endpoint":
		t.ClickHouseEndpoint = value
	case "bucket":
		t.Bucket = value
	case "prefix":
		t.Prefix = value
	case "region":
		t.Region = value
	case "access_key":
		t.AccessKey = Secret(value)
	case "secret_key":
		t.SecretKey = Secret(value)
	case "named_collection":
		t.NamedCollection = value
	}
}

// copyDefaults fills what a [[copy]] table leaves out: the region and
// prefix of [s3]'s defaults (a table of an array gets no struct default).
func (c *Config) copyDefaults(set func(i int, key string) bool) {
	def := Default().S3
	for i := range c.Copy {
		if !set(i, "region") {
			c.Copy[i].Region = def.Region
		}
		if !set(i, "prefix") {
			c.Copy[i].Prefix = def.Prefix
		}
		if r := c.Copy[i].Retention; r != nil && !set(i, "retention.keep_full_backups") {
			r.KeepFullBackups = c.Retention.KeepFullBackups // a [copy.retention] without it keeps as many chains as the primary
		}
	}
}

// validateCopyKeys refuses a [[copy]] key that is not one.
func validateCopyKeys(raw any) []error {
	tables, _ := raw.([]any)
	var errs []error
	for i, p := range tables {
		m, ok := p.(map[string]any)
		if !ok {
			errs = append(errs, &Error{Key: fmt.Sprintf("copy[%d]", i), Msg: "must be a table ([[copy]])"})
			continue
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !copyKeys[k] {
				errs = append(errs, &Error{Key: fmt.Sprintf("copy[%d].%s", i, k), Msg: "unknown key"})
			}
		}
		errs = append(errs, validateCopyRetentionKeys(i, m["retention"])...)
	}
	return errs
}

// retentionKeys are the keys of [retention] and of a [copy.retention].
var retentionKeys = map[string]bool{"keep_full_backups": true, "keep_days": true, "keep_daily": true, "keep_weekly": true,
	"keep_monthly": true, "keep_yearly": true, "min_age": true}

// validateCopyRetentionKeys refuses a [copy.retention] that is not a table of
// retention keys.
func validateCopyRetentionKeys(i int, raw any) []error {
	if raw == nil {
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return []error{&Error{Key: fmt.Sprintf("copy[%d].retention", i), Msg: "must be a table ([copy.retention]) of the keys of [retention]"}}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !retentionKeys[k] {
			errs = append(errs, &Error{Key: fmt.Sprintf("copy[%d].retention.%s", i, k), Msg: "unknown key"})
		}
	}
	return errs
}
