package control

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/memstore"
	"github.com/clickvault/clickvault/sidecar/model"
)

// grantsOf holds a user's rights as "PRIV db.table".
type grantsOf map[string]bool

func (g grantsOf) Grants(context.Context, string) (Grants, error) {
	return GrantsFunc(func(p Privilege, database, table string) bool { return g[string(p)+" "+database+"."+table] }), nil
}

func (grantsOf) RowPolicies(context.Context, string, string, []string) ([]string, error) {
	return nil, nil
}

// includePlan is consumers = 'include' of definitions as SHOW CREATE TABLE
// prints them on the test bed.
func includePlan(texts map[string]string) model.RestorePlan {
	var defs []model.TableDefinition
	for name, text := range texts {
		defs = append(defs, model.TableDefinition{Table: name, Create: text})
	}
	return model.BuildPlan("shop", "shop_restored", nil, model.ConsumersInclude, model.ClassifyTables("shop", defs, nil))
}

// TestIncludeNeedsTheRights: a requester's include of a view writing into
// prod.sink takes INSERT there, of a view reading it SELECT; a URL table a
// view writes into (stored outside ClickHouse) is the operator's alone;
// the operator needs nothing more.
func TestIncludeNeedsTheRights(t *testing.T) {
	mvOut := "CREATE MATERIALIZED VIEW shop.mv_out TO prod.sink (`n` UInt64) AS SELECT id AS n FROM shop.orders"
	vOut := "CREATE VIEW shop.v_out (`n` UInt64) AS SELECT n FROM prod.sink"
	urlT := "CREATE TABLE shop.url_t (`n` UInt64) ENGINE = URL('http://127.0.0.1:1/x', 'CSV')"
	urlMV := "CREATE MATERIALIZED VIEW shop.url_mv TO shop.url_t (`n` UInt64) AS SELECT id AS n FROM shop.orders"
	cases := []struct {
		name   string
		texts  map[string]string
		grants grantsOf
		want   string // "" = permitted
	}{
		{"writes outside, no grant", map[string]string{"mv_out": mvOut}, nil, `lacks INSERT on table prod.sink (materialized view mv_out`},
		{"writes outside, INSERT", map[string]string{"mv_out": mvOut}, grantsOf{"INSERT prod.sink": true}, ""},
		{"reads outside, INSERT only", map[string]string{"v_out": vOut}, grantsOf{"INSERT prod.sink": true}, `lacks SELECT on table prod.sink (view v_out`},
		{"reads outside, SELECT", map[string]string{"v_out": vOut}, grantsOf{"SELECT prod.sink": true}, ""},
		{"stored outside ClickHouse", map[string]string{"url_t": urlT, "url_mv": urlMV}, nil, "may not restore table url_t live (a URL table is stored outside ClickHouse)"},
	}
	for _, c := range cases {
		s := newUnitSidecar("a", memstore.New(), nil)
		s.base.auth = c.grants
		permit := s.admission.includePermit(Job{Request: Request{RequestedBy: "alice"}, Consumers: model.ConsumersInclude})
		err := permit(context.Background(), includePlan(c.texts))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want a rejection saying %q", c.name, err, c.want)
		}
		op := Job{Request: Request{RequestedBy: "clickvault"}, Operator: true, Consumers: model.ConsumersInclude}
		if s.admission.includePermit(op) != nil {
			t.Errorf("%s: the operator's include is checked", c.name)
		}
	}
}
