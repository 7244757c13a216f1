//go:build unix && !linux

package main

import "syscall"

// childAttr runs a backend of gallows dev in a process group of its own,
// so that the terminal's Ctrl-C reaches dev alone, which stops the
// backends in order. (Only Linux can have a child killed with its parent.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
