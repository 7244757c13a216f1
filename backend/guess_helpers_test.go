package backend_test

import (
	"fmt"
	"sync/atomic"
)

// requestIDs numbers the request ids newRequestID makes.
var requestIDs atomic.Uint64

// newRequestID returns a request id no other call of the test binary uses:
// backends refuse writes without one.
func newRequestID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, requestIDs.Add(1))
}
