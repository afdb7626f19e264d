package model

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The restore plan's decisions and what it says of them, at their edges:
// what include restores, why a plan refuses (consumers, the sidecar's
// rights, both) and the hint it gives, and the lines and summary people
// read. Written for the mutation run (docs/mutants.md).

func TestIncluded(t *testing.T) {
	p := RestorePlan{Tables: []PlanEntry{
		{Table: "plain", Action: PlanRestore},
		{Table: "live", Action: PlanRestore, Reasons: []string{"writes outside"}},
		{Table: "stopped", Action: PlanStopped, Reasons: []string{"refreshable"}},
		{Table: "left", Action: PlanSkip, Reasons: []string{"consumer"}},
		{Table: "refused", Action: PlanRefuse, Reasons: []string{"consumer"}},
	}}
	var got []string
	for _, e := range p.Included() {
		got = append(got, e.Table)
	}
	if !slices.Equal(got, []string{"live", "stopped"}) {
		t.Errorf("included %v, want [live stopped]", got)
	}
}

func TestRefusal(t *testing.T) {
	consumer := PlanEntry{Table: "k", Action: PlanRefuse, Reasons: []string{"a consumer", "reads outside"}}
	zk := PlanEntry{Table: "r", Action: PlanRefuse, Reasons: []string{"a literal path"}, zk: true}
	rights := PlanEntry{Table: "v", Action: PlanRefuse, Reasons: []string{"its definer is bob"}, Rights: true}
	restored := PlanEntry{Table: "t", Action: PlanRestore, Reasons: []string{"writes outside"}}
	const (
		generic = "say consumers = 'skip' to restore the rest without them, or consumers = 'include' to restore them live"
		onlyZK  = "a replicated table with a literal ZooKeeper path is never restored under another name"
		include = "say consumers = 'skip' to restore the rest without them;"
	)
	for _, c := range []struct {
		name      string
		consumers Consumers
		tables    []PlanEntry
		says      []string
		consumer  bool // errors.Is ErrConsumers
		right     bool // errors.Is ErrSidecarRights
	}{
		{"nothing refused", ConsumersRefuse, []PlanEntry{restored}, nil, false, false},
		{"a consumer", ConsumersRefuse, []PlanEntry{restored, consumer}, []string{"nothing was restored: k (a consumer; reads outside): " + generic}, true, false},
		{"a literal path only", ConsumersRefuse, []PlanEntry{zk}, []string{"r (a literal path): " + onlyZK}, true, false},
		{"a literal path and a consumer", ConsumersRefuse, []PlanEntry{zk, consumer}, []string{"r (a literal path), k (a consumer; reads outside): " + generic}, true, false},
		{"a consumer, include asked", ConsumersInclude, []PlanEntry{consumer}, []string{"k (a consumer; reads outside): " + include}, true, false},
		{"a right only", ConsumersRefuse, []PlanEntry{rights}, []string{"nothing was restored: v (its definer is bob): " + ErrSidecarRights.Error()}, false, true},
		{"both", ConsumersRefuse, []PlanEntry{consumer, rights}, []string{"nothing was restored: k (", "; and v (its definer is bob)"}, true, true},
	} {
		err := RestorePlan{Consumers: c.consumers, Tables: c.tables}.Refusal()
		if (err == nil) != (c.says == nil) || errors.Is(err, ErrConsumers) != c.consumer || errors.Is(err, ErrSidecarRights) != c.right {
			t.Errorf("%s: %v; want consumers %v, rights %v", c.name, err, c.consumer, c.right)
			continue
		}
		for _, s := range c.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q, want it to say %q", c.name, err, s)
			}
		}
		if c.consumer && !c.right && strings.Contains(err.Error(), "; and ") {
			t.Errorf("%s: %q names a second refusal", c.name, err)
		}
	}
}

// TestSkipNamesOneDependency: a table depending on two tables left out is
// left out once, naming the first.
func TestSkipNamesOneDependency(t *testing.T) {
	defs := []TableDefinition{
		{Table: "k1", Create: "CREATE TABLE k1 ENGINE = Kafka"},
		{Table: "k2", Create: "CREATE TABLE k2 ENGINE = Kafka"},
		{Table: "v", Create: "CREATE VIEW v AS SELECT * FROM k1 JOIN k2 ON 1"},
	}
	p := BuildPlan("shop", "shop", nil, ConsumersSkip, ClassifyTables("shop", defs, nil))
	for _, e := range p.Tables {
		if e.Table == "v" && (e.Action != PlanSkip || !slices.Equal(e.Reasons, []string{"depends on k1, which is left out"})) {
			t.Errorf("v: %s %q, want skip naming k1 once", e.Action, e.Reasons)
		}
	}
}

func TestPlanLinesAndSummary(t *testing.T) {
	p := RestorePlan{Backup: "b1", Database: "shop", Target: "copy", Tables: []PlanEntry{
		{Table: "a", Target: "a", Object: "table", Action: PlanRestore},
		{Table: "b", Target: "b2", Object: "table", Engine: "Kafka", Action: PlanSkip, Reasons: []string{"a consumer", "x"}},
		{Table: "c", Target: "c", Object: "materialized view", Action: PlanStopped, Reasons: []string{"refreshable"}, Note: "created EMPTY"},
		{Table: "d", Target: "d", Object: "view", Action: PlanRefuse, Reasons: []string{"reads outside"}},
		{Table: "e", Target: "e", Object: "view", Action: PlanRestore},
	}}
	want := []string{
		"plan: restore backup b1 of shop into copy (consumers: refuse)",
		"  restore         table a",
		"  skip            table b as b2 (Kafka): a consumer; x",
		"  restore stopped materialized view c: refreshable (created EMPTY)",
		"  refuse          view d: reads outside",
		"  restore         view e",
	}
	if got := p.Lines(); !slices.Equal(got, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p.Consumers = ConsumersSkip
	if got := p.Lines()[0]; !strings.HasSuffix(got, "(consumers: skip)") {
		t.Errorf("first line %q", got)
	}
	if got, want := p.Summary(), "3 restored; restored stopped: c; left out: b; refused: d"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got := (RestorePlan{}).Summary(); got != "0 restored" {
		t.Errorf("empty summary %q", got)
	}
}

// TestSkipReachesDependentsOfDependents: a view over a view over a table
// left out is left out too, whatever order the tables come in.
func TestSkipReachesDependentsOfDependents(t *testing.T) {
	defs := []TableDefinition{
		{Table: "v2", Create: "CREATE VIEW v2 AS SELECT * FROM v1"},
		{Table: "v1", Create: "CREATE VIEW v1 AS SELECT * FROM k"},
		{Table: "k", Create: "CREATE TABLE k ENGINE = Kafka"},
		{Table: "t", Create: "CREATE TABLE t ENGINE = Log"},
	}
	p := BuildPlan("shop", "shop", nil, ConsumersSkip, ClassifyTables("shop", defs, nil))
	if got := p.With(PlanSkip); !slices.Equal(got, []string{"k", "v1", "v2"}) {
		t.Errorf("left out %v, want [k v1 v2]", got)
	}
}

// TestUnreadDefinitionIsAHazard: a definition too big to read is not
// taken for a plain table: it is flagged, and refused by default.
func TestUnreadDefinitionIsAHazard(t *testing.T) {
	c := ClassifyTables("shop", []TableDefinition{{Table: "big", Unread: "over 1 MiB"}}, nil)[0]
	if len(c.Hazards) != 1 || c.Hazards[0].Code != HazardUnread || !strings.Contains(c.Hazards[0].Reason, "over 1 MiB") {
		t.Errorf("hazards %+v", c.Hazards)
	}
}

// TestKeepDropsWhatThePlanLeavesOut: a plan that refuses keeps nothing; of
// named tables, those left out are dropped, and if that is all of them
// the restore is refused rather than run as a whole-database restore.
func TestKeepDropsWhatThePlanLeavesOut(t *testing.T) {
	plan := RestorePlan{Tables: []PlanEntry{{Table: "a", Action: PlanRestore}, {Table: "k", Action: PlanSkip, Reasons: []string{"a consumer"}}}}
	named := []TableRestore{{Source: "a", Target: "a2"}, {Source: "k", Target: "k"}}
	if got, err := plan.Keep(named); err != nil || !slices.Equal(got, named[:1]) {
		t.Errorf("named: %v, %v; want only a", got, err)
	}
	if got, err := plan.Keep(nil); err != nil || got != nil {
		t.Errorf("the whole database: %v, %v", got, err)
	}
	if got, err := plan.Keep(named[1:]); !errors.Is(err, ErrConsumers) || got != nil {
		t.Errorf("only k, left out: %v, %v; want a refusal", got, err)
	}
	plan.Tables[1].Action = PlanRefuse
	if got, err := plan.Keep(named); !errors.Is(err, ErrConsumers) || got != nil {
		t.Errorf("a refusing plan: %v, %v", got, err)
	}
}

func TestDefinitionFile(t *testing.T) {
	for name, want := range map[string]string{
		"metadata/shop/orders.sql":       "orders",
		"metadata/shop/my%2Dt.sql":       "my-t",
		"metadata/my%2Ddb/t.sql":         "",
		"metadata/other/orders.sql":      "",
		"data/shop/orders.sql":           "",
		"metadata/shop/orders.json":      "",
		"metadata/shop/x/orders.sql":     "",
		"metadata/shop.sql":              "",
		"shop/metadata/shop/orders.sql":  "",
		"metadata/shop/orders.sql.bak":   "",
		"metadata/SHOP/orders.sql":       "",
		"metadata//orders.sql":           "",
		"metadata/shop/orders%2Esql.sql": "orders.sql",
	} {
		got, ok := DefinitionFile(name, "shop")
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q, %v; want %q", name, got, ok, want)
		}
	}
	if got, ok := DefinitionFile("metadata/my%2Ddb/t.sql", "my-db"); !ok || got != "t" {
		t.Errorf("an escaped database: %q, %v", got, ok)
	}
}

// TestRebuiltByRefresh: the tables a refreshable view of the database
// replaces (its TO table there, without APPEND) come back empty, and the
// plan says so on them and on the view restored stopped; not an APPEND
// view's, an outside one's, a plain materialized view's or an inner one.
func TestRebuiltByRefresh(t *testing.T) {
	defs := []TableDefinition{
		{Table: "a_plain", Create: "CREATE TABLE a_plain ENGINE = Log"},
		{Table: "rv", Create: "CREATE MATERIALIZED VIEW rv REFRESH EVERY 1 HOUR TO shop.target AS SELECT 1"},
		{Table: "rv_app", Create: "CREATE MATERIALIZED VIEW rv_app REFRESH EVERY 1 HOUR APPEND TO t2 AS SELECT 1"},
		{Table: "rv_out", Create: "CREATE MATERIALIZED VIEW rv_out REFRESH EVERY 1 HOUR TO prod.x AS SELECT 1"},
		{Table: "mv", Create: "CREATE MATERIALIZED VIEW mv TO t3 AS SELECT 1"},
		{Table: "target", Create: "CREATE TABLE target ENGINE = Log"},
		{Table: "t2", Create: "CREATE TABLE t2 ENGINE = Log"},
		{Table: "t3", Create: "CREATE TABLE t3 ENGINE = Log"},
	}
	p := BuildPlan("shop", "shop_copy", nil, ConsumersInclude, ClassifyTables("shop", defs, nil))
	if got := p.RebuiltByRefresh(); !slices.Equal(got, []string{"target"}) {
		t.Errorf("rebuilt by refresh %v, want [target]", got)
	}
	notes := map[string]string{}
	for _, e := range p.Tables {
		if e.Note != "" {
			notes[e.Table] = e.Note
		}
	}
	if len(notes) != 2 || !strings.HasPrefix(notes["target"], "restored empty: refreshable view rv replaces its rows") ||
		!strings.HasPrefix(notes["rv"], "created EMPTY and stopped: the rows of target come back") {
		t.Errorf("notes %q", notes)
	}
	p = BuildPlan("shop", "shop_copy", nil, ConsumersSkip, ClassifyTables("shop", defs, nil))
	for _, e := range p.Tables {
		if e.Table == "rv" && e.Note != "" || e.Table == "target" && e.Note == "" {
			t.Errorf("skip: %s noted %q", e.Table, e.Note)
		}
	}
}

// TestRefuseLiveStagingPastPlainTables: in a replace, every table whose
// staging copy would run live is refused, wherever it comes in the plan;
// a plain table, a plain view and what is left out are not.
func TestRefuseLiveStagingPastPlainTables(t *testing.T) {
	p := RestorePlan{Tables: []PlanEntry{
		{Table: "a", Object: "table", Action: PlanRestore},
		{Table: "v", Object: "view", Action: PlanRestore},
		{Table: "k", Object: "table", Action: PlanSkip, Reasons: []string{"a consumer"}},
		{Table: "mv", Object: "materialized view", Action: PlanRestore},
		{Table: "out", Object: "table", Action: PlanRestore, Reasons: []string{"writes outside"}},
	}}
	p.RefuseLiveStaging()
	if got := p.With(PlanRefuse); !slices.Equal(got, []string{"mv", "out"}) {
		t.Errorf("refused %v, want [mv out]", got)
	}
	if err := p.Refusal(); !errors.Is(err, ErrConsumers) || !strings.Contains(err.Error(), "mode = 'replace' does not replace") {
		t.Errorf("refusal: %v", err)
	}
}
