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

package podprocess

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two processes write the same paths under /kfp, /s3 and /tmp and see only their own
// files; a bound directory is shared with the host, a read-only one cannot be written.
func TestPrivateDirs(t *testing.T) {
	Require(t)
	host := t.TempDir()
	ro := t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"one", "two"} {
		script := `set -e
for d in /kfp /s3 /minio /gcs /tmp; do
  test -z "$(ls -A $d | grep -vx outputs)" || { echo "$d not empty: $(ls -A $d)"; exit 1; }
  echo ` + who + ` > $d/who
done
mkdir -p /kfp/outputs
cat /s3/who > /kfp/outputs/who
if echo y > /venv/f 2>/dev/null; then echo "read-only bind written"; exit 1; fi
cat /venv/f >> /kfp/outputs/who
pwd >> /kfp/outputs/who
`
		var out bytes.Buffer
		cmd := Command(context.Background(), Options{
			Binds:    map[string]string{"/kfp/outputs": host},
			ReadOnly: map[string]string{"/venv": ro},
			Env:      []string{"PATH=/usr/bin:/bin"},
			Dir:      "/tmp",
		}, "sh", "-c", script)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v: %s", who, err, out.String())
		}
		got, err := os.ReadFile(filepath.Join(host, "who"))
		if err != nil {
			t.Fatal(err)
		}
		if want := who + "\nx/tmp\n"; string(got) != want {
			t.Errorf("%s: /kfp/outputs/who = %q, want %q", who, got, want)
		}
	}
	for _, d := range PodDirs {
		if _, err := os.Stat(filepath.Join(d, "who")); err == nil {
			t.Errorf("%s/who exists on the host", d)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(ro, "f")); strings.TrimSpace(string(b)) != "x" {
		t.Errorf("read-only file changed: %q", b)
	}
}
