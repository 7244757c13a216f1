//go:build !unix

package main

import (
	"os"
	"syscall"
)

// Without SIGSTOP and SIGCONT, freeze asks for a signal the process
// cannot take, and fails.
var (
	sigFreeze os.Signal = syscall.Signal(-1)
	sigThaw   os.Signal = syscall.Signal(-1)
)

// childAttr: no process groups here.
func childAttr() *syscall.SysProcAttr { return nil }

// processAlive reports whether process pid runs.
func processAlive(pid int) bool {
	_, err := os.FindProcess(pid)
	return err == nil
}
