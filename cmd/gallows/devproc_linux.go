//go:build linux

package main

import "syscall"

// childAttr runs a backend of gallows dev in a process group of its own,
// so that the terminal's Ctrl-C reaches dev alone, which stops the
// backends in order, and has the kernel kill it if dev dies (even by
// SIGKILL). Pdeathsig is sent when the thread that started the child
// exits: the supervisor starts each child from a goroutine locked to its
// thread for the child's whole life.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
