//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// Signals of the dev supervisor's fault buttons.
var (
	sigFreeze os.Signal = syscall.SIGSTOP
	sigThaw   os.Signal = syscall.SIGCONT
)

// processAlive reports whether process pid runs (signal 0 reaches it).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
