package model

// Partition is one partition of a table, as system.parts shows it.
type Partition struct {
	ID    string // partition_id
	Value string // partition: the key's value as text
	Rows  uint64 // physical rows of its active parts
}
