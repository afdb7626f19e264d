package sidecar

// SetMaxManifestRead lowers the size of the biggest manifest a completed
// backup reads, for a test; the returned func restores it.
func SetMaxManifestRead(n int64) func() {
	old := maxManifestRead
	maxManifestRead = n
	return func() { maxManifestRead = old }
}
