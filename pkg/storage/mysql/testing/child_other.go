//go:build !linux

package mysqltesting

import "os/exec"

// startChild starts cmd. Only Linux can tie the child's life to the test process (Pdeathsig);
// elsewhere a killed test binary leaves its mariadbd running.
func startChild(cmd *exec.Cmd) error { return cmd.Start() }

// processAlive cannot tell here, so stale directories are never swept.
func processAlive(int) bool { return true }

func killLeftoverServers(string) {}
