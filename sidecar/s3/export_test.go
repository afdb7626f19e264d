package s3

// WithParts makes t send objects over singleMax bytes in parts of partMin
// (server-side), and streamed ones in requests of up to partMin: tests
// cross the 5 GiB limit with megabytes.
func (t *Transfer) WithParts(singleMax, partMin int64) *Transfer {
	t.singleMax, t.partMin, t.streamPart = singleMax, partMin, partMin
	return t
}
