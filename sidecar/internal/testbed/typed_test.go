package testbed_test

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"
)

// typedColumns holds one column of each type ClickVault's tables use, with
// values derived from the row number so a reader can check every row.
type typedColumns struct {
	n  proto.ColUInt64
	i  proto.ColInt32
	s  proto.ColStr
	lc *proto.ColLowCardinality[string]
	ns *proto.ColNullable[string]
	u  proto.ColUUID
	ts *proto.ColDateTime64
	e  *proto.ColEnum
	b  proto.ColBool
	m  *proto.ColMap[string, string]
}

func newTypedColumns() *typedColumns {
	return &typedColumns{
		lc: new(proto.ColStr).LowCardinality(),
		ns: new(proto.ColStr).Nullable(),
		ts: new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli).WithLocation(time.UTC),
		e:  new(proto.ColEnum),
		m:  proto.NewMap[string, string](new(proto.ColStr), new(proto.ColStr)),
	}
}

func rowUUID(r int) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[8:], uint64(r)+1)
	return u
}

func (c *typedColumns) append(r int, base time.Time) {
	c.n.Append(uint64(r))
	c.i.Append(int32(-r))
	c.s.Append("s" + strconv.Itoa(r))
	c.lc.Append("lc" + strconv.Itoa(r%5))
	if r%2 == 0 {
		c.ns.Append(proto.Nullable[string]{})
	} else {
		c.ns.Append(proto.NewNullable("v" + strconv.Itoa(r)))
	}
	c.u.Append(rowUUID(r))
	c.ts.Append(base.Add(time.Duration(r) * time.Millisecond))
	c.e.Append(map[bool]string{true: "even", false: "odd"}[r%2 == 0])
	c.b.Append(r%2 == 1)
	c.m.Append(map[string]string{"k": strconv.Itoa(r % 7)})
}

func (c *typedColumns) input() proto.Input {
	return proto.Input{
		{Name: "n", Data: &c.n}, {Name: "i", Data: &c.i}, {Name: "s", Data: &c.s}, {Name: "lc", Data: c.lc},
		{Name: "ns", Data: c.ns}, {Name: "u", Data: &c.u}, {Name: "ts", Data: c.ts}, {Name: "e", Data: c.e},
		{Name: "b", Data: &c.b}, {Name: "m", Data: c.m},
	}
}

func (c *typedColumns) results() proto.Results {
	var out proto.Results
	for _, col := range c.input() {
		out = append(out, proto.ResultColumn{Name: col.Name, Data: col.Data.(proto.ColResult)})
	}
	return out
}

// check compares row r of the columns with the values row number g was
// written with.
func (c *typedColumns) check(r, g int, base time.Time) error {
	want := newTypedColumns()
	want.append(g, base)
	switch {
	case c.n.Row(r) != want.n.Row(0), c.i.Row(r) != want.i.Row(0), c.s.Row(r) != want.s.Row(0):
		return fmt.Errorf("row %d: n/i/s = %d/%d/%q", g, c.n.Row(r), c.i.Row(r), c.s.Row(r))
	case c.lc.Row(r) != want.lc.Row(0), c.ns.Row(r) != want.ns.Row(0):
		return fmt.Errorf("row %d: lc/ns = %q/%v", g, c.lc.Row(r), c.ns.Row(r))
	case c.u.Row(r) != want.u.Row(0), !c.ts.Row(r).Equal(want.ts.Row(0)):
		return fmt.Errorf("row %d: u/ts = %v/%v", g, c.u.Row(r), c.ts.Row(r))
	case c.e.Row(r) != want.e.Row(0), c.b.Row(r) != want.b.Row(0), c.m.Row(r)["k"] != want.m.Row(0)["k"]:
		return fmt.Errorf("row %d: e/b/m = %q/%v/%v", g, c.e.Row(r), c.b.Row(r), c.m.Row(r))
	}
	return nil
}
