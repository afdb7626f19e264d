package testbed

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// writeAccessConfig writes an engine config whose users file defines the
// test bed's users with their grants. The engine then answers
// system.grants for real; "default" may do everything, including read
// other users' grants (access_management).
//
// The engine runs every statement as "default" (clickhouse-local cannot
// impersonate), so grants are not enforced on statements: they are data for
// the code under test to check. currentUser() is emulated for INSERTs into
// MATERIALIZED currentUser() columns by the front end.
func writeAccessConfig(dir string, users map[string]string, grants map[string][]string) (string, error) {
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	if _, ok := users["default"]; !ok {
		names = append(names, "default")
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("<clickhouse>\n<profiles><default/></profiles>\n<quotas><default/></quotas>\n<users>\n")
	for _, name := range names {
		// The engine opens its own session as default without a password;
		// the front end checks every login's password itself.
		password := users[name]
		if name == "default" {
			password = ""
		}
		fmt.Fprintf(&b, "<%s><password>%s</password><networks><ip>::/0</ip></networks>", name, xmlText(password))
		b.WriteString("<profile>default</profile><quota>default</quota>")
		if name == "default" {
			b.WriteString("<access_management>1</access_management><named_collection_control>1</named_collection_control>")
		} else {
			b.WriteString("<grants>")
			for _, g := range grants[name] {
				fmt.Fprintf(&b, "<query>GRANT %s</query>", xmlText(g))
			}
			b.WriteString("</grants>")
		}
		fmt.Fprintf(&b, "</%s>\n", name)
	}
	b.WriteString("</users>\n</clickhouse>\n")
	usersPath := filepath.Join(dir, "users.xml")
	if err := os.WriteFile(usersPath, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("write engine users: %w", err)
	}
	configPath := filepath.Join(dir, "config.xml")
	config := "<clickhouse>\n<users_config>" + xmlText(usersPath) + "</users_config>\n</clickhouse>\n"
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return "", fmt.Errorf("write engine config: %w", err)
	}
	return configPath, nil
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
