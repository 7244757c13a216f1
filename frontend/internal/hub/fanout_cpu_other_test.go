//go:build !linux && !darwin

package hub

import "time"

// processCPU returns -1: this platform's process CPU time is not measured.
func processCPU() time.Duration { return -1 }
