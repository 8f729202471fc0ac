package client

// PendingChecks is how many distinct checks of c wait for a batch to be
// sent, for tests that must know a check has joined one before they go on.
func PendingChecks(c *Client) int {
	if c.batch == nil {
		return 0
	}
	c.batch.mu.Lock()
	defer c.batch.mu.Unlock()
	return len(c.batch.pending)
}
