package model

import (
	"errors"
	"fmt"
	"strings"
)

// ExchangeEngines are the database engines that can EXCHANGE TABLES.
var ExchangeEngines = []string{"Atomic", "Replicated"}

// ErrCannotExchange refuses a replace in a database that cannot swap tables.
var ErrCannotExchange = errors.New("the database cannot swap tables")

func LastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, len(s)
}

func OrNoneOf(values []string) string {
	if len(values) == 0 {
		return "none"
	}
	return strings.Join(values, ", ")
}

func PartitionValues(ps []Partition) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Value
	}
	return out
}

// ResolvePartitions splits named into the ids of partitions the table has
// and the values it does not have. A value the table lacks that is written
// as a tuple cannot be sent as a literal, and is refused with why.
func ResolvePartitions(named []string, have []Partition) (values, ids []string, err error) {
	byValue := map[string]string{}
	for _, p := range have {
		byValue[p.Value] = p.ID
	}
	for _, v := range named {
		id, ok := byValue[v]
		switch {
		case ok:
			ids = append(ids, id)
		case strings.HasPrefix(v, "("):
			return nil, nil, fmt.Errorf("partition %s is not in the live table; a partition of a key of several "+
				"columns is replaced by its id, read from the live table's system.parts, so only a partition the "+
				"table still has can be replaced in place: restore it under another name (\"table AS new_name\")", v)
		default:
			values = append(values, v)
		}
	}
	return values, ids, nil
}
