//go:build !linux

package flysim

import "syscall"

// sysProcAttr puts a machine process in its own process group, so a stop
// reaches its children.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
