//go:build unix && !linux

package runtime

import "syscall"

// dieWithParent does nothing where there is no parent-death signal; Close
// still ends every process.
func dieWithParent(*syscall.SysProcAttr) {}
