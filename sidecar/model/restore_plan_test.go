package model

import (
	"slices"
	"strings"
	"testing"
)

// Texts as ClickHouse 26.7 shows them (SHOW CREATE TABLE on the test bed)
// or keeps them in a backup (metadata/shop/<table>.sql, one line, with
// the UUID). Engines the test bed's build cannot create (RabbitMQ, NATS,
// AzureQueue, Replicated* without ZooKeeper, S3Queue without a bucket)
// are written as ClickHouse's documentation and SHOW CREATE print them.
var planTexts = map[string]string{
	// metadata/shop/rmv.sql of a backup on the test bed.
	"rmv": "CREATE MATERIALIZED VIEW shop.rmv UUID 'dc0ca0b2-901f-4aaf-9d1e-9663c793f9d1' REFRESH EVERY 1 SECOND TO prod.sink " +
		"(`n` UInt64, `t` DateTime) DEFINER = admin SQL SECURITY DEFINER AS SELECT count() AS n, now() AS t FROM shop.orders",
	"orders": "CREATE TABLE shop.orders UUID 'dc71cdac-6f25-4667-ae15-30a40e298bd7' (`id` UInt64, `item` String) " +
		"ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 8192",
	"rmv_local": "CREATE MATERIALIZED VIEW shop.rmv_local\nREFRESH AFTER 1 MINUTE\n(\n    `n` UInt64\n)\nENGINE = MergeTree\nORDER BY n\n" +
		"SETTINGS index_granularity = 8192\nDEFINER = admin SQL SECURITY DEFINER\nAS SELECT count() AS n\nFROM shop.orders",
	"mv_out":   "CREATE MATERIALIZED VIEW shop.mv_out TO prod.sink\n(\n    `n` UInt64,\n    `t` DateTime\n)\nAS SELECT\n    id AS n,\n    now() AS t\nFROM shop.orders",
	"mv_in":    "CREATE MATERIALIZED VIEW shop.mv_in\n(\n    `n` UInt64\n)\nENGINE = MergeTree\nORDER BY n\nSETTINGS index_granularity = 8192\nAS SELECT id AS n\nFROM shop.orders",
	"mv_fed":   "CREATE MATERIALIZED VIEW shop.mv_fed TO shop.orders (`id` UInt64, `item` String) AS SELECT id, item FROM prod.incoming",
	"v_out":    "CREATE VIEW shop.v_out\n(\n    `n` UInt64,\n    `t` DateTime\n)\nAS SELECT *\nFROM prod.sink",
	"v_in":     "CREATE VIEW shop.v_in\n(\n    `id` UInt64,\n    `item` String\n)\nAS SELECT *\nFROM shop.orders",
	"v_join":   "CREATE VIEW shop.v_join (`id` UInt64) AS SELECT o.id FROM shop.orders AS o INNER JOIN `prod`.`users` AS u ON o.id = u.id",
	"v_remote": "CREATE VIEW shop.v_remote (`id` UInt64) AS SELECT id FROM remote('db2:9000', shop, orders)",
	"buf":      "CREATE TABLE shop.buf\n(\n    `n` UInt64,\n    `t` DateTime\n)\nENGINE = Buffer('prod', 'sink', 1, 10, 100, 10000, 1000000, 10000000, 100000000)",
	"buf_in":   "CREATE TABLE shop.buf_in (`id` UInt64, `item` String) ENGINE = Buffer('shop', 'orders', 1, 10, 100, 10000, 1000000, 10000000, 100000000)",
	"dist":     "CREATE TABLE shop.dist (`id` UInt64, `item` String) ENGINE = Distributed('prod_cluster', 'prod', 'orders', rand())",
	"dist_in":  "CREATE TABLE shop.dist_in (`id` UInt64, `item` String) ENGINE = Distributed('c', currentDatabase(), 'orders')",
	"url_t":    "CREATE TABLE shop.url_t\n(\n    `n` UInt64\n)\nENGINE = URL('http://127.0.0.1:1/x', 'CSV')",
	"url_mv":   "CREATE MATERIALIZED VIEW shop.url_mv TO shop.url_t (`n` UInt64) AS SELECT id AS n FROM shop.orders",
	"file_t":   "CREATE TABLE shop.file_t\n(\n    `n` UInt64\n)\nENGINE = File('CSV')",
	"kafka":    "CREATE TABLE shop.kafka\n(\n    `n` UInt64\n)\nENGINE = Kafka\nSETTINGS kafka_broker_list = '127.0.0.1:1', kafka_topic_list = 't', kafka_group_name = 'g', kafka_format = 'JSONEachRow'",
	"rabbit":   "CREATE TABLE shop.rabbit\n(\n    `n` UInt64\n)\nENGINE = RabbitMQ\nSETTINGS rabbitmq_host_port = 'rmq:5672', rabbitmq_exchange_name = 'e', rabbitmq_format = 'JSONEachRow'",
	"nats":     "CREATE TABLE shop.nats\n(\n    `n` UInt64\n)\nENGINE = NATS\nSETTINGS nats_url = 'nats:4222', nats_subjects = 's', nats_format = 'JSONEachRow'",
	"s3q":      "CREATE TABLE shop.s3q\n(\n    `n` UInt64\n)\nENGINE = S3Queue('https://bucket.s3.amazonaws.com/in/*.csv', 'CSV')\nSETTINGS mode = 'unordered', after_processing = 'delete'",
	"azq":      "CREATE TABLE shop.azq\n(\n    `n` UInt64\n)\nENGINE = AzureQueue('DefaultEndpointsProtocol=https;AccountName=a', 'c', '*.csv', 'CSV')\nSETTINGS mode = 'unordered'",
	"rep_lit":  "CREATE TABLE shop.rep_lit\n(\n    `n` UInt64\n)\nENGINE = ReplicatedMergeTree('/clickhouse/tables/shop/rep', '{replica}')\nORDER BY n\nSETTINGS index_granularity = 8192",
	"rep_uuid": "CREATE TABLE shop.rep_uuid (`n` UInt64) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}') ORDER BY n",
	"rep_db":   "CREATE TABLE shop.rep_db (`n` UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/{database}/{table}', '{replica}') ORDER BY n",
	"rep_dflt": "CREATE TABLE shop.rep_dflt (`n` UInt64) ENGINE = ReplicatedMergeTree ORDER BY n",
	"ttl":      "CREATE TABLE shop.ttl (`d` Date) ENGINE = MergeTree ORDER BY d TTL d + toIntervalDay(7) TO DISK 'cold'",
	"comment":  "CREATE VIEW shop.comment (`n` UInt64) AS SELECT /* FROM prod.x */ n -- FROM prod.y\nFROM shop.orders",
	"extract":  "CREATE VIEW shop.extract (`y` UInt16) AS SELECT EXTRACT(YEAR FROM d) AS y FROM (SELECT today() AS d)",
}

func classifyAll(t *testing.T, renamed bool) map[string]Classified {
	t.Helper()
	var defs []TableDefinition
	for name, text := range planTexts {
		defs = append(defs, TableDefinition{Table: name, Create: text})
	}
	out := map[string]Classified{}
	for _, c := range ClassifyTables("shop", defs, func(string) bool { return renamed }) {
		out[c.Table] = c
	}
	return out
}

func codes(c Classified) []string {
	var out []string
	for _, h := range c.Hazards {
		out = append(out, h.Code)
	}
	return out
}

func TestClassifyTables(t *testing.T) {
	got := classifyAll(t, true)
	want := map[string][]string{
		"rmv":       {HazardRefreshable, HazardWritesOutside},
		"rmv_local": {HazardRefreshable},
		"mv_out":    {HazardWritesOutside},
		"mv_fed":    {HazardReadsOutside},
		"v_out":     {HazardReadsOutside},
		"v_join":    {HazardReadsOutside},
		"v_remote":  {HazardReadsOutside},
		"buf":       {HazardWritesOutside},
		"dist":      {HazardWritesOutside},
		"url_t":     {HazardExternalWriter},
		"kafka":     {HazardConsumer},
		"rabbit":    {HazardConsumer},
		"nats":      {HazardConsumer},
		"s3q":       {HazardConsumer},
		"azq":       {HazardConsumer},
		"rep_lit":   {HazardZooKeeper},
	}
	for name := range planTexts {
		if g := codes(got[name]); !slices.Equal(g, want[name]) {
			t.Errorf("%s: hazards %v, want %v (%+v)", name, g, want[name], got[name].Definition)
		}
	}
	if d := got["rmv"]; d.Object != "materialized view" || d.To != (QualifiedName{"prod", "sink"}) || !d.Refreshable {
		t.Errorf("rmv parsed as %+v", d.Definition)
	}
	if d := got["buf_in"]; !slices.Equal(d.References("shop"), []string{"orders"}) {
		t.Errorf("buf_in references %v, want [orders]", d.References("shop"))
	}
}

func TestClassifyZooKeeperPathOnlyWhenRenamed(t *testing.T) {
	if c := classifyAll(t, false)["rep_lit"]; len(c.Hazards) != 0 {
		t.Errorf("a literal path restored under its own name: %v", c.Hazards)
	}
}

func planOf(t *testing.T, restores []TableRestore, consumers Consumers, names ...string) RestorePlan {
	t.Helper()
	var defs []TableDefinition
	for _, n := range names {
		defs = append(defs, TableDefinition{Table: n, Create: planTexts[n]})
	}
	c := ClassifyTables("shop", defs, func(string) bool { return true })
	return BuildPlan("shop", "shop_copy", restores, consumers, c)
}

func TestPlanRefusesNamingEachTable(t *testing.T) {
	p := planOf(t, nil, ConsumersRefuse, "orders", "rmv", "kafka", "v_in")
	err := p.Refusal()
	if err == nil || !strings.Contains(err.Error(), "rmv (a refreshable") || !strings.Contains(err.Error(), "kafka (a Kafka") ||
		strings.Contains(err.Error(), "orders") || !strings.Contains(err.Error(), "consumers = 'skip'") {
		t.Fatalf("refusal: %v", err)
	}
}

func TestPlanSkipLeavesOutDependents(t *testing.T) {
	p := planOf(t, nil, ConsumersSkip, "orders", "url_t", "url_mv", "buf", "v_in", "rmv_local")
	if err := p.Refusal(); err != nil {
		t.Fatal(err)
	}
	if got := p.With(PlanSkip); !slices.Equal(got, []string{"buf", "rmv_local", "url_mv", "url_t"}) {
		t.Fatalf("skipped %v\n%s", got, strings.Join(p.Lines(), "\n"))
	}
	if got := p.With(PlanRestore); !slices.Equal(got, []string{"orders", "v_in"}) {
		t.Fatalf("restored %v", got)
	}
	if s := p.Summary(); !strings.Contains(s, "left out: buf, rmv_local, url_mv, url_t") {
		t.Errorf("summary %q", s)
	}
}

func TestPlanIncludeStopsRefreshableAndRefusesLiteralPath(t *testing.T) {
	p := planOf(t, nil, ConsumersInclude, "orders", "rmv", "kafka")
	if err := p.Refusal(); err != nil {
		t.Fatal(err)
	}
	if got := p.With(PlanStopped); !slices.Equal(got, []string{"rmv"}) {
		t.Fatalf("stopped %v", got)
	}
	p = planOf(t, nil, ConsumersInclude, "orders", "rep_lit")
	if err := p.Refusal(); err == nil || !strings.Contains(err.Error(), "never restored under another name") {
		t.Fatalf("refusal: %v", err)
	}
}

func TestPlanOfNamedTables(t *testing.T) {
	p := planOf(t, []TableRestore{{Source: "orders", Target: "orders_old"}}, ConsumersRefuse, "orders", "rmv")
	if len(p.Tables) != 1 || p.Tables[0].Target != "orders_old" || p.Refusal() != nil {
		t.Fatalf("plan %+v", p)
	}
}

func TestParseConsumers(t *testing.T) {
	for _, s := range []string{"", "skip", " include "} {
		if _, err := ParseConsumers(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := ParseConsumers("all"); err == nil {
		t.Error("all accepted")
	}
}
