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

package processkubelet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildLauncher compiles cmd/pipelines-launcher of the module at repoRoot into out, for
// Config.Launcher, and returns out; "" while the repository has no launcher.
func BuildLauncher(ctx context.Context, repoRoot, out string) (string, error) {
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", "pipelines-launcher")); err != nil {
		return "", nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/pipelines-launcher")
	cmd.Dir = repoRoot
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pipelines-launcher: %w\n%s", err, output.String())
	}
	return out, nil
}
