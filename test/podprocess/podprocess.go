/*
Copyright 2026 The pipelines-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package podprocess starts a process the way a container of a task's pod sees the
// file system where it matters to KFP components: in a private mount namespace with
// fresh, empty directories at /kfp, /s3, /minio, /gcs and /tmp (or host directories
// bound there), so that processes running side by side in a test never share them.
// It is a stand-in for a container runtime: the process runs on the host's root file
// system with the host's programs, as root, with the environment it is given.
//
// It needs unshare(1) and the right to mount (root, or CAP_SYS_ADMIN). The mount
// points are created on the host if absent (empty directories); nothing is mounted
// outside the process's namespace.
package podprocess

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// PodDirs are the directories a process gets empty and private unless Options
// binds them: where KFP's launchers and components put their files.
var PodDirs = []string{"/kfp", "/s3", "/minio", "/gcs", "/tmp"}

// Options says what the process sees.
type Options struct {
	// Binds maps paths in the process's view to host directories bound there, after
	// the private directories are mounted (so a bind may be below one, e.g.
	// /kfp/outputs).
	Binds map[string]string
	// ReadOnly binds maps paths to host directories bound read-only (e.g. a
	// virtualenv the process must not change).
	ReadOnly map[string]string
	// Env is the process's whole environment.
	Env []string
	// Dir is its working directory (in its own view); "/" if empty.
	Dir string
}

var (
	checkOnce sync.Once
	checkErr  error
)

// Check says why processes cannot be started here, or nil.
func Check() error {
	checkOnce.Do(func() {
		if _, err := exec.LookPath("unshare"); err != nil {
			checkErr = fmt.Errorf("podprocess: unshare(1) not found: %w", err)
			return
		}
		out, err := exec.Command("unshare", "--mount", "--propagation", "private", "--",
			"sh", "-c", "mount -t tmpfs tmpfs /mnt && echo ok").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			checkErr = fmt.Errorf("podprocess: cannot mount in a private mount namespace (needs root): %v: %s", err, out)
		}
	})
	return checkErr
}

// Require skips tb with the reason when processes cannot be started here, and fails
// it instead when PIPELINES_REQUIRE_TESTDEPS=1.
func Require(tb testing.TB) {
	tb.Helper()
	if err := Check(); err != nil {
		if os.Getenv(shareddata.EnvRequireTestDeps) == "1" {
			tb.Fatalf("%v; %s=1 requires it", err, shareddata.EnvRequireTestDeps)
		}
		tb.Skipf("%v; set %s=1 to fail instead", err, shareddata.EnvRequireTestDeps)
	}
}

// Command returns the command running name with args as a pod's process (see the
// package comment). The caller sets Stdout, Stderr and Stdin and runs it.
func Command(ctx context.Context, opts Options, name string, args ...string) *exec.Cmd {
	type bind struct {
		at, from string
		ro       bool
	}
	var binds []bind
	for at, from := range opts.Binds {
		binds = append(binds, bind{at, from, false})
	}
	for at, from := range opts.ReadOnly {
		binds = append(binds, bind{at, from, true})
	}
	// Parents before children.
	sort.Slice(binds, func(i, j int) bool { return binds[i].at < binds[j].at })
	var script strings.Builder
	script.WriteString("set -e\n")
	// The host directories are bound first under a private /mnt, since the fresh
	// directories may hide them (a test's temporary directory is under /tmp), and
	// moved into place after.
	script.WriteString("mount -t tmpfs tmpfs /mnt\n")
	for i, b := range binds {
		fmt.Fprintf(&script, "mkdir /mnt/%d && mount --bind %s /mnt/%d\n", i, quote(filepath.Clean(b.from)), i)
	}
	for _, d := range PodDirs {
		if _, ok := opts.Binds[d]; ok {
			continue
		}
		fmt.Fprintf(&script, "mkdir -p %s && mount -t tmpfs -o mode=1777 tmpfs %s\n", quote(d), quote(d))
	}
	for i, b := range binds {
		fmt.Fprintf(&script, "mkdir -p %s && mount --move /mnt/%d %s\n", quote(b.at), i, quote(b.at))
		if b.ro {
			fmt.Fprintf(&script, "mount -o remount,bind,ro %s\n", quote(b.at))
		}
	}
	dir := opts.Dir
	if dir == "" {
		dir = "/"
	}
	fmt.Fprintf(&script, "cd %s\nexec \"$@\"\n", quote(dir))
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", script.String(), "podprocess", name}, args...)...)
	cmd.Env = opts.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	return cmd
}

// quote quotes s for sh.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
