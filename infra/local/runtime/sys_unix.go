//go:build unix

package runtime

import (
	"os/exec"
	"syscall"
)

// isolate makes the process the leader of a new process group, so that
// killGroup also ends whatever it started.
func isolate(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	dieWithParent(cmd.SysProcAttr)
}

// killGroup sends SIGKILL, which Lambda also uses, to the process group
// led by pid. An already ended group is not an error.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
