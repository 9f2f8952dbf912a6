package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"k8s.io/klog/v2"
)

// BinDirEnv names the environment variable hack/test.sh sets to the directory
// hack/build-controlplane.sh printed; Start uses it when Config.BinDir is empty.
const BinDirEnv = "PIPELINES_CONTROLPLANE_BIN"

const buildScript = "hack/build-controlplane.sh"

var binaries = []string{"etcd", "kube-apiserver", "kubectl"}

// ResolveBinDir returns the directory holding etcd, kube-apiserver and kubectl: dir if it is
// not empty, else $PIPELINES_CONTROLPLANE_BIN, else the output of hack/build-controlplane.sh,
// which builds the binaries on first use (several minutes) and reuses them afterwards.
func ResolveBinDir(ctx context.Context, logger klog.Logger, dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(BinDirEnv)
	}
	if dir == "" {
		var err error
		if dir, err = runBuildScript(ctx, logger); err != nil {
			return "", err
		}
	}
	for _, b := range binaries {
		if _, err := exec.LookPath(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("control-plane binary %s missing in %s (run %s): %w", b, dir, buildScript, err)
		}
	}
	return dir, nil
}

// toolModules are the modules under hack/tools whose programs hack/build-controlplane.sh
// builds into one directory, each with a stamp file holding the checksum of its pins.
var toolModules = []string{"controlplane", "argo", "kwok", "seaweedfs"}

// BinariesBuilt says whether hack/build-controlplane.sh would reuse existing binaries, so that
// callers can warn that the first start will take minutes. It is a hint: the script decides.
func BinariesBuilt() bool {
	if os.Getenv(BinDirEnv) != "" {
		return true
	}
	root, err := repoRoot()
	if err != nil {
		return false
	}
	cache := os.Getenv("PIPELINES_CACHE_DIR")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return false
		}
		cache = filepath.Join(base, "pipelines-apiserver")
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, "bin", "v*"))
	for _, d := range dirs {
		ok := true
		for _, m := range toolModules {
			want, err := pins(filepath.Join(root, "hack", "tools", m))
			stamp, _ := os.ReadFile(filepath.Join(d, "."+m+".pins"))
			ok = ok && err == nil && strings.TrimSpace(string(stamp)) == want
		}
		if ok {
			return true
		}
	}
	return false
}

// pins is the checksum hack/build-controlplane.sh stamps a module's programs with: SHA-256 of
// its go.mod followed by its go.sum, in hex.
func pins(module string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(module, f))
		if err != nil {
			return "", err
		}
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// repoRoot finds the repository holding hack/build-controlplane.sh: from the working directory
// upwards (tests run in their package directory, `make run` in the root), then from this
// source file's location.
func repoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if _, err := os.Stat(filepath.Join(dir, buildScript)); err == nil {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("%s not found above %v", buildScript, starts)
}

// runBuildScript runs hack/build-controlplane.sh, logs its progress lines and returns the
// last line of its standard output.
func runBuildScript(ctx context.Context, logger klog.Logger) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, buildScript))
	cmd.Dir = root
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", fmt.Errorf("running %s: %w", buildScript, err)
	}
	logger.V(1).Info("Running the control-plane build script", "script", buildScript)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("running %s: %w", buildScript, err)
	}
	tail := newTail(40)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		tail.add(line)
		if strings.HasPrefix(line, "build-controlplane:") {
			logger.Info(strings.TrimSpace(strings.TrimPrefix(line, "build-controlplane:")))
		}
	}
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("%s failed: %w; output:\n%s", buildScript, err, tail)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if dir == "" {
		return "", errors.New(buildScript + " printed no directory")
	}
	return dir, nil
}

// tail keeps the last n lines written to it.
type tail struct {
	n     int
	lines []string
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) add(line string) {
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

func (t *tail) String() string { return strings.Join(t.lines, "\n") }

// fileTail returns the last n lines of a file from offset on, for errors about a process
// that failed.
func fileTail(path string, offset int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	// Logs of a failed start are small, but a reused Dir appends: read only the end.
	const maxRead = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size()-offset > maxRead {
		offset = st.Size() - maxRead
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return fmt.Sprintf("(reading log: %v)", err)
		}
	}
	t := newTail(n)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		t.add(sc.Text())
	}
	return t.String()
}
