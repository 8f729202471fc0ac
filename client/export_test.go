package client

// WaitingCallers is how many checks of c, coalesced or not, wait for a
// batch to be sent.
func WaitingCallers(c *Client) int {
	if c.batch == nil {
		return 0
	}
	c.batch.mu.Lock()
	defer c.batch.mu.Unlock()
	n := 0
	for _, it := range c.batch.pending {
		n += it.callers
	}
	return n
}
