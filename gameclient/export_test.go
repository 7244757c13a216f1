package gameclient

// QueuedGuesses is how many guesses wait for a batch on addr's GuessStream.
func QueuedGuesses(c *Client, addr string) int {
	bc, err := c.conn(addr)
	if err != nil {
		return 0
	}
	return len(bc.guesses.queue)
}

// MaxBatchesInflight is maxBatchesInflight, for tests.
const MaxBatchesInflight = maxBatchesInflight

// BigBatch is bigBatch, for tests.
const BigBatch = bigBatch
