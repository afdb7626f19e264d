package deploy_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/clickvault/clickvault/hooks/metrics"
)

// exportedMetrics are the metric names ClickVault's registry exports once
// every observer method has run, histogram series included.
func exportedMetrics(t *testing.T) map[string]bool {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, map[string]time.Duration{"shop": 8 * time.Hour})
	m.RequestState("backup", "succeeded")
	m.BackupFinished("shop", "full", true, time.Second, 1)
	m.BackupFinished("shop", "full", false, time.Second, 0)
	m.ChainDepth("shop", 1)
	m.NewestBackup("shop", time.Now())
	m.CheckFinished("shop", true)
	m.VerifyFinished("shop", true, time.Second)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range families {
		out[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[f.GetName()+s] = true
			}
		}
	}
	return out
}

var metricName = regexp.MustCompile(`\bclickvault_[a-z_]+\b`)

// checkExprs fails for a ClickVault metric an expression names that is not
// exported, and returns how many it named.
func checkExprs(t *testing.T, where string, exprs []string, exported map[string]bool) int {
	n := 0
	for _, e := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			n++
			if !exported[name] {
				t.Errorf("%s names %s, which ClickVault does not export: %s", where, name, e)
			}
		}
	}
	return n
}

// TestAlertRulesNameExportedMetrics: deploy/prometheus/alerts.yaml parses
// as Prometheus rule groups, has the four alerts the README promises, and
// every ClickVault metric it names is exported.
func TestAlertRulesNameExportedMetrics(t *testing.T) {
	data, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	var exprs, alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs, alerts = append(exprs, r.Expr), append(alerts, r.Alert)
		}
	}
	for _, want := range []string{"ClickVaultBackupOlderThanRPO", "ClickVaultBackupFailed", "ClickVaultCheckFailed",
		"ClickVaultVerifyFailed", "ClickVaultSidecarDown"} {
		if !strings.Contains(strings.Join(alerts, ","), want) {
			t.Errorf("alerts.yaml lacks %s", want)
		}
	}
	if n := checkExprs(t, "alerts.yaml", exprs, exportedMetrics(t)); n < 5 {
		t.Errorf("alerts.yaml names only %d ClickVault metrics", n)
	}
}

// TestDashboardNamesExportedMetrics: deploy/grafana/clickvault.json is a
// dashboard whose every query names only exported metrics.
func TestDashboardNamesExportedMetrics(t *testing.T) {
	data, err := os.ReadFile("grafana/clickvault.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	exported := exportedMetrics(t)
	if n := checkExprs(t, "clickvault.json", exprs, exported); n < 10 {
		t.Errorf("the dashboard names only %d ClickVault metrics", n)
	}
	for _, name := range []string{metrics.BackupAge, metrics.RPO, metrics.VerifyRestore, metrics.CheckOK} {
		if !strings.Contains(string(data), name) {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
}
