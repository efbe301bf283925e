package flysim

import "syscall"

// sysProcAttr puts a machine process in its own process group (so a stop
// reaches its children) and kills it if the emulator dies without Close.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
