package controlplane

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPinsMatchBuildScript: BinariesBuilt's checksum of a tool module is the one
// hack/build-controlplane.sh stamps the module's programs with (its function pins).
func TestPinsMatchBuildScript(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range toolModules {
		got, err := pins(root + "/hack/tools/" + m)
		if err != nil {
			t.Fatal(err)
		}
		// The script's own definition of pins, run on its own.
		cmd := exec.Command("bash", "-c", `eval "$(grep '^pins()' hack/build-controlplane.sh)" && tools=hack/tools && pins "$1"`, "bash", m)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if want := strings.TrimSpace(string(out)); got != want || len(want) != 64 {
			t.Errorf("module %s: pins %s, the script's checksum %q", m, got, want)
		}
	}
}
