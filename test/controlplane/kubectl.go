package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KubectlError is the error Kubectl returns when kubectl ran and failed. Test for it with
// errors.As; Stderr holds the message, such as `Error from server (Forbidden): ...`.
type KubectlError struct {
	Args     []string
	ExitCode int
	Stderr   string
	Err      error
}

func (e *KubectlError) Error() string {
	return fmt.Sprintf("kubectl %s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Stderr))
}

func (e *KubectlError) Unwrap() error { return e.Err }

// Kubectl runs the real kubectl against this control plane with the given kubeconfig (the
// admin's when empty; NewUser returns one per user) and returns its output. A failing kubectl
// yields a *KubectlError; stderr is returned in either case.
//
//	out, _, err := cp.Kubectl(ctx, "", "get", "ns", "-o", "name")
//	_, stderr, err := cp.Kubectl(ctx, aliceKubeconfig, "get", "pods", "-n", "default")
func (c *ControlPlane) Kubectl(ctx context.Context, kubeconfig string, args ...string) (stdout, stderr string, err error) {
	cmd := c.KubectlCmd(ctx, kubeconfig, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		kerr := &KubectlError{Args: args, ExitCode: -1, Stderr: errOut.String(), Err: err}
		if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) {
			kerr.ExitCode = exitErr.ExitCode()
		}
		return out.String(), errOut.String(), kerr
	}
	return out.String(), errOut.String(), nil
}

// KubectlCmd returns the kubectl command Kubectl would run, for callers that need stdin
// (`create -f -`), streaming output or a different working directory. KUBECONFIG from the
// environment is ignored, and kubectl's discovery cache lives in Dir.
func (c *ControlPlane) KubectlCmd(ctx context.Context, kubeconfig string, args ...string) *exec.Cmd {
	if kubeconfig == "" {
		kubeconfig = c.adminKubeconfig
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "kubectl"), append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "KUBECACHEDIR=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "KUBECACHEDIR="+filepath.Join(c.dir, "kubectl-cache"))
	return cmd
}
