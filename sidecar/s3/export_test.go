package s3

// WithParts makes t send objects over singleMax bytes in parts of partMin:
// tests cross the 5 GiB limit with megabytes.
func (t *Transfer) WithParts(singleMax, partMin int64) *Transfer {
	t.singleMax, t.partMin = singleMax, partMin
	return t
}
