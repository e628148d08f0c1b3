//go:build linux

package runtime

import "syscall"

// dieWithParent asks Linux to kill the process if the emulator itself dies
// without running Close (kill -9, a crash), so no orphan keeps a port.
func dieWithParent(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
