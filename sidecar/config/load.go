package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "CLICKVAULT_"

// Error is a configuration problem, naming the key. A Missing key is a
// required one that nothing set; its message says how to set it.
type Error struct {
	Key     string
	Msg     string
	Missing bool
}

func (e *Error) Error() string {
	if e.Missing {
		section, field, _ := strings.Cut(e.Key, ".")
		return fmt.Sprintf("%s: is required: set %s under [%s] in the config file, or the environment variable %s",
			e.Key, field, section, EnvName(e.Key))
	}
	return e.Key + ": " + e.Msg
}

// EnvName is the environment variable that sets key: s3.bucket is
// CLICKVAULT_S3_BUCKET.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Load reads the configuration: defaults, then path (skipped when "" or,
// with optional, missing), then the environment. environ is os.Environ in
// production. The result is validated; a problem comes as a *SourceError
// that says which file was read, or looked for and absent.
func Load(path string, optional bool, environ func() []string) (Config, error) {
	k := koanf.New(".")
	if err := k.Load(structs.Provider(Default(), "koanf"), nil); err != nil {
		return Config{}, fmt.Errorf("load defaults: %w", err)
	}
	if path != "" {
		absent, err := loadFile(k, path, optional)
		if err != nil {
			return Config{}, err
		}
		cfg, err := load(k, environ)
		if err != nil {
			return cfg, &SourceError{Path: path, Absent: absent, Err: err}
		}
		return cfg, nil
	}
	return load(k, environ)
}

// load adds the environment to k and validates the result.
func load(k *koanf.Koanf, environ func() []string) (Config, error) {
	var envErrs []error
	envProvider := env.Provider(".", env.Opt{Prefix: EnvPrefix, EnvironFunc: environ,
		TransformFunc: func(name, value string) (string, any) {
			key, err := envKey(name)
			if err != nil {
				envErrs = append(envErrs, err)
			}
			if key == "" {
				return "", nil
			}
			if isListKey(key) {
				return key, splitList(value)
			}
			return key, value
		}})
	if err := k.Load(envProvider, nil); err != nil {
		return Config{}, fmt.Errorf("read environment: %w", err)
	}
	if err := errors.Join(envErrs...); err != nil {
		return Config{}, err
	}
	if err := refuseUnknownKeys(k); err != nil {
		return Config{}, err
	}
	var cfg Config
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: &mapstructure.DecoderConfig{
		WeaklyTypedInput: true, Result: &cfg, TagName: "koanf",
		DecodeHook: mapstructure.StringToSliceHookFunc(","),
	}}); err != nil {
		return Config{}, fmt.Errorf("read values: %w", err)
	}
	rawCopies, _ := k.Get("copy").([]any)
	cfg.copyDefaults(func(i int, key string) bool { // key may be dotted: retention.keep_full_backups
		v := rawCopies[i]
		for _, part := range strings.Split(key, ".") {
			m, _ := v.(map[string]any)
			var ok bool
			if v, ok = m[part]; !ok {
				return false
			}
		}
		return true
	})
	if err := cfg.applyCopyEnv(environ()); err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// loadFile adds path to k; absent reports an optional file that is not
// there.
func loadFile(k *koanf.Koanf, path string, optional bool) (absent bool, err error) {
	if _, err := os.Stat(path); err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return true, nil
		}
		return false, fmt.Errorf("read config file %s: %w", path, err)
	}
	if err := k.Load(file.Provider(path), toml.Parser()); err != nil {
		return false, fmt.Errorf("parse config file %s: %w", path, err)
	}
	return false, nil
}

// knownKeys are "section.key" for every field of Config.
func knownKeys() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	ct := reflect.TypeOf(Config{})
	for i := 0; i < ct.NumField(); i++ {
		section := ct.Field(i)
		st := section.Type
		if st.Kind() != reflect.Struct {
			continue // [tables.<database>]: checked by tableKeyKnown
		}
		for _, f := range keyFields(st) {
			out[section.Tag.Get("koanf")+"."+f.Tag.Get("koanf")] = f.Type
		}
	}
	return out
}

// keyFields are the fields of a table's struct that are keys, with those
// of a struct it embeds squashed into it (S3Place in S3 and CopyTarget).
func keyFields(st reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for j := 0; j < st.NumField(); j++ {
		f := st.Field(j)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, keyFields(f.Type)...)
			continue
		}
		out = append(out, f)
	}
	return out
}

// envKey maps CLICKVAULT_S3_SECRET_KEY to s3.secret_key. A variable whose
// section is not ClickVault's (CLICKVAULT_CACHE, for the test bed) is left
// alone; one naming a known section and an unknown key is refused.
func envKey(name string) (string, error) {
	rest := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
	known := knownKeys()
	for key := range known {
		section, field, _ := strings.Cut(key, ".")
		if rest == section+"_"+field {
			if key == "notifications.providers" {
				return "", &Error{Key: name, Msg: "notification providers can only be set in the config file"}
			}
			return key, nil
		}
	}
	for key := range known {
		section, _, _ := strings.Cut(key, ".")
		if strings.HasPrefix(rest, section+"_") {
			return "", &Error{Key: name, Msg: fmt.Sprintf("unknown setting %s.%s", section, strings.TrimPrefix(rest, section+"_"))}
		}
	}
	return "", nil
}

func isListKey(key string) bool {
	t, ok := knownKeys()[key]
	return ok && t.Kind() == reflect.Slice
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// tableKeyKnown accepts tables.<database>.include_tables and
// .exclude_tables, and rpo.<database> (the database name is checked by
// Validate).
func tableKeyKnown(key string) bool {
	if key == "tables" || key == "rpo" {
		return true // the empty defaults
	}
	if db, ok := strings.CutPrefix(key, "rpo."); ok {
		return !strings.Contains(db, ".")
	}
	rest, ok := strings.CutPrefix(key, "tables.")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, ".")
	return i > 0 && (rest[i+1:] == "include_tables" || rest[i+1:] == "exclude_tables")
}

// providerKeys are the keys a [[notifications.providers]] table may have.
var providerKeys = map[string]bool{"type": true, "webhook_url": true, "url": true, "method": true, "headers": true}

func refuseUnknownKeys(k *koanf.Koanf) error {
	known := knownKeys()
	var errs []error
	for _, key := range k.Keys() {
		if _, ok := known[key]; ok {
			continue
		}
		if strings.HasPrefix(key, "notifications.providers") || key == "copy" || tableKeyKnown(key) {
			continue
		}
		errs = append(errs, &Error{Key: key, Msg: "unknown key"})
	}
	errs = append(errs, validateCopyKeys(k.Get("copy"))...)
	providers, _ := k.Get("notifications.providers").([]any)
	for i, p := range providers {
		m, ok := p.(map[string]any)
		if !ok {
			errs = append(errs, &Error{Key: fmt.Sprintf("notifications.providers[%d]", i), Msg: "must be a table"})
			continue
		}
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if !providerKeys[name] {
				errs = append(errs, &Error{Key: fmt.Sprintf("notifications.providers[%d].%s", i, name), Msg: "unknown key"})
			}
		}
	}
	return errors.Join(errs...)
}
