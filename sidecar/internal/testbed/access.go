package testbed

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Admin is the test bed's administrator login: it may do everything,
// including manage access and read other users' grants. Its password is
// Options.Users[Admin] ("" when not given).
const Admin = "admin"

// engineUser is the login clickhouse-local's own session always uses (it is
// hard-wired to "default" with an empty password). It may only start the
// listeners, so nobody gains anything by logging in as it.
const engineUser = "default"

// writeAccessConfig writes the server config and its users file: the
// administrator, the engine's own user and every user of access, each with
// their password and grants. Users and grants are fixed at start: this
// server has no writable access storage, so CREATE USER and GRANT at run
// time fail; change them by restarting.
func writeAccessConfig(dir string, access Access, settings map[string]string) (string, error) {
	usersPath := filepath.Join(dir, "users.xml")
	if err := os.WriteFile(usersPath, []byte(usersXML(access, settings)), 0o600); err != nil {
		return "", fmt.Errorf("write server users: %w", err)
	}
	configPath := filepath.Join(dir, "config.xml")
	config := "<clickhouse>\n" +
		"<user_directories><users_xml><path>" + xmlText(usersPath) + "</path></users_xml></user_directories>\n" +
		// The interactive client would otherwise read system tables for
		// completion, as the engine's user, which may not.
		"<disable_suggestion>1</disable_suggestion>\n" +
		// S3() without keys uses the server's own credentials, here from its
		// environment (as an instance role or IRSA would give them).
		"<s3><use_environment_credentials>true</use_environment_credentials></s3>\n" +
		// ClickVault confirms each request from the query that inserted it,
		// as ClickHouse's default config.xml has them.
		"<query_log><database>system</database><table>query_log</table>" +
		"<flush_interval_milliseconds>7500</flush_interval_milliseconds></query_log>\n" +
		"<query_views_log><database>system</database><table>query_views_log</table>" +
		"<flush_interval_milliseconds>7500</flush_interval_milliseconds></query_views_log>\n" +
		"</clickhouse>\n"
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return "", fmt.Errorf("write server config: %w", err)
	}
	return configPath, nil
}

func usersXML(access Access, settings map[string]string) string {
	var b strings.Builder
	b.WriteString("<clickhouse>\n<profiles><default>")
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "<%s>%s</%s>", k, xmlText(settings[k]), k)
	}
	b.WriteString("</default></profiles>\n<quotas><default/></quotas>\n<users>\n")
	writeUser(&b, engineUser, "", []string{"SYSTEM LISTEN ON *.*"}, nil, false)
	writeUser(&b, Admin, access.Users[Admin], nil, nil, true)
	names := make([]string, 0, len(access.Users))
	for name := range access.Users {
		if name != Admin {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		writeUser(&b, name, access.Users[name], access.Grants[name], access.Filters[name], false)
	}
	b.WriteString("</users>\n</clickhouse>\n")
	return b.String()
}

func writeUser(b *strings.Builder, name, password string, grants []string, filters map[string]string, admin bool) {
	fmt.Fprintf(b, "<%s><password>%s</password><networks><ip>::/0</ip></networks>", name, xmlText(password))
	b.WriteString("<profile>default</profile><quota>default</quota>")
	if admin {
		b.WriteString("<access_management>1</access_management><named_collection_control>1</named_collection_control>" +
			"<show_named_collections>1</show_named_collections><show_named_collections_secrets>1</show_named_collections_secrets>")
	} else {
		b.WriteString("<grants>")
		for _, g := range grants {
			fmt.Fprintf(b, "<query>%s</query>", xmlText(grantQuery(g)))
		}
		b.WriteString("</grants>")
		writeFilters(b, filters)
	}
	fmt.Fprintf(b, "</%s>\n", name)
}

// writeFilters writes row policies the way a users file has them:
// <databases><db><table><filter>condition</filter></table></databases>.
func writeFilters(b *strings.Builder, filters map[string]string) {
	if len(filters) == 0 {
		return
	}
	tables := make([]string, 0, len(filters))
	for t := range filters {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	b.WriteString("<databases>")
	for _, t := range tables {
		db, table, _ := strings.Cut(t, ".")
		fmt.Fprintf(b, "<%s><%s><filter>%s</filter></%s></%s>", db, table, xmlText(filters[t]), table, db)
	}
	b.WriteString("</databases>")
}

// grantQuery turns "INSERT ON db.*" into "GRANT INSERT ON db.*"; a
// statement that already starts with GRANT or REVOKE is kept.
func grantQuery(g string) string {
	upper := strings.ToUpper(strings.TrimSpace(g))
	if strings.HasPrefix(upper, "GRANT ") || strings.HasPrefix(upper, "REVOKE ") {
		return strings.TrimSpace(g)
	}
	return "GRANT " + strings.TrimSpace(g)
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
