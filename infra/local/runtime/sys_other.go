//go:build !unix

package runtime

import (
	"os"
	"os/exec"
)

// isolate does nothing on systems without process groups.
func isolate(*exec.Cmd) {}

// killGroup kills the process itself on systems without process groups.
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
