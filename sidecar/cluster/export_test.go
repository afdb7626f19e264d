package cluster

// CachedSets is how many sets c keeps read as open, of every database.
func CachedSets(c *Coordinator) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sets)
}

// CachedReports is how many replica reports c remembers writing.
func CachedReports(c *Coordinator) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reported)
}
