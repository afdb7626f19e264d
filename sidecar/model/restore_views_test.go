package model

import (
	"slices"
	"strings"
	"testing"
)

// ordersCreate is metadata/shop/orders.sql of a backup on the test bed.
const ordersCreate = "CREATE TABLE shop.orders UUID 'dc71cdac-6f25-4667-ae15-30a40e298bd7' (`id` UInt64, `item` String) " +
	"ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 8192"

// Refreshable views as a backup on the test bed holds them
// (metadata/shop/<view>.sql, ClickHouse 26.7): APPEND into an outside TO
// table, and two with an inner table, one APPEND.
var viewTexts = map[string]string{
	"rmv": "CREATE MATERIALIZED VIEW shop.rmv UUID '1faca9a7-fba6-42f3-9de1-8f221420df8d' REFRESH EVERY 1 SECOND APPEND TO prod.sink " +
		"(`n` UInt64, `t` DateTime, `db` String) DEFINER = admin SQL SECURITY DEFINER AS SELECT count() AS n, now() AS t, " +
		"currentDatabase() AS db FROM shop.orders",
	"rmv_app": "CREATE MATERIALIZED VIEW shop.rmv_app UUID 'c26edb14-be0d-494a-b791-c6efe74190e0' REFRESH EVERY 1 HOUR APPEND " +
		"TO INNER UUID '7ac029ba-da28-4f16-b4bf-54a68eae9f32' (`n` UInt64) ENGINE = MergeTree ORDER BY n SETTINGS " +
		"index_granularity = 8192 DEFINER = admin SQL SECURITY DEFINER AS SELECT count() AS n FROM shop.orders",
	"rmv_inner": "CREATE MATERIALIZED VIEW shop.rmv_inner UUID 'a9f81551-f49f-4a69-8261-118ffa131333' REFRESH EVERY 1 HOUR " +
		"(`n` UInt64) ENGINE = MergeTree ORDER BY n SETTINGS index_granularity = 8192 DEFINER = admin SQL SECURITY DEFINER " +
		"AS SELECT count() AS n FROM shop.orders",
	"orders": ordersCreate,
}

func TestParseRefreshableViews(t *testing.T) {
	d := ParseDefinition(viewTexts["rmv_app"])
	if !d.Refreshable || !d.Append || d.To.Name != "" || d.Engine != "MergeTree" || d.Definer != "admin" || d.SQLSecurity != "DEFINER" {
		t.Errorf("rmv_app parsed as %+v", d)
	}
	d = ParseDefinition(viewTexts["rmv"])
	if !d.Append || d.To != (QualifiedName{Database: "prod", Name: "sink"}) || d.Definer != "admin" {
		t.Errorf("rmv parsed as %+v", d)
	}
	if d := ParseDefinition(viewTexts["rmv_inner"]); d.Append || d.To.Name != "" {
		t.Errorf("rmv_inner parsed as %+v", d)
	}
}

func TestStoppedCreate(t *testing.T) {
	got, err := StoppedCreate(viewTexts["rmv"], "shop", "shop_restored", "rmv", nil)
	want := "CREATE MATERIALIZED VIEW `shop_restored`.`rmv`  REFRESH EVERY 1 SECOND APPEND TO prod.sink (`n` UInt64, `t` DateTime, " +
		"`db` String) DEFINER = admin SQL SECURITY DEFINER EMPTY AS SELECT count() AS n, now() AS t, currentDatabase() AS db " +
		"FROM `shop_restored`.`orders`"
	if err != nil || got != want {
		t.Fatalf("rmv:\n got %s (%v)\nwant %s", got, err, want)
	}
	got, err = StoppedCreate(viewTexts["rmv_inner"], "shop", "shop", "rmv_old", map[string]string{"orders": "orders_old"})
	if err != nil || strings.Contains(got, "UUID") || !strings.HasPrefix(got, "CREATE MATERIALIZED VIEW `shop`.`rmv_old` ") ||
		!strings.HasSuffix(got, "EMPTY AS SELECT count() AS n FROM `shop`.`orders_old`") {
		t.Fatalf("rmv_inner renamed: %s (%v)", got, err)
	}
	// Restored by name without its tables, it keeps pointing at the
	// original's, as RESTORE leaves a view restored alone.
	got, err = StoppedCreate(viewTexts["rmv_inner"], "shop", "x", "rmv_inner", map[string]string{"rmv_inner": "rmv_inner"})
	if err != nil || !strings.HasSuffix(got, "EMPTY AS SELECT count() AS n FROM shop.orders") {
		t.Fatalf("rmv_inner restored alone: %s (%v)", got, err)
	}
	got, err = StoppedCreate(viewTexts["rmv_app"], "shop", "x", "rmv_app", nil)
	if err != nil || strings.Contains(got, "INNER") || strings.Contains(got, "UUID") {
		t.Fatalf("rmv_app: %s (%v)", got, err)
	}
	if _, err := StoppedCreate(ordersCreate, "shop", "x", "orders", nil); err == nil {
		t.Fatal("a table rewritten as a view")
	}
}

func TestPlanIncludeViewsWithoutTOTable(t *testing.T) {
	var defs []TableDefinition
	for name, text := range viewTexts {
		defs = append(defs, TableDefinition{Table: name, Create: text})
	}
	p := BuildPlan("shop", "shop_copy", nil, ConsumersInclude, ClassifyTables("shop", defs, nil))
	if got := p.With(PlanStopped); !slices.Equal(got, []string{"rmv", "rmv_inner"}) {
		t.Fatalf("stopped %v", got)
	}
	err := p.Refusal()
	if err == nil || !strings.Contains(err.Error(), "rmv_app (") || !strings.Contains(err.Error(), "APPEND refreshable view without a TO table") {
		t.Fatalf("refusal: %v", err)
	}
	lines := strings.Join(p.Lines(), "\n")
	if !strings.Contains(lines, "rmv_inner (MergeTree): a refreshable materialized view: it refreshes on its own schedule as soon as it exists "+
		"(created EMPTY and stopped: its rows (in its inner table) come back at its first refresh, once started)") {
		t.Errorf("plan:\n%s", lines)
	}
	if w := p.Tables[slices.IndexFunc(p.Tables, func(e PlanEntry) bool { return e.Table == "rmv" })].WritesOutside; !slices.Equal(w, []QualifiedName{{Database: "prod", Name: "sink"}}) {
		t.Errorf("rmv writes outside %v", w)
	}
}
