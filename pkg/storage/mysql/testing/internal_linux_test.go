package mysqltesting

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestCopySparseLeavesHoles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	if err := copySparse(src, dst, 0o600); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dst, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 8<<20 || st.Blocks*512 > 1<<20 {
		t.Errorf("copy of 8 MiB of zeros: size %d, %d bytes allocated; want 8 MiB, almost none allocated", st.Size, st.Blocks*512)
	}
}

const helperEnv = "MYSQLTESTING_DEATH_HELPER"

// TestPrivateServerDiesWithTestProcess runs this test binary again as a child that starts a
// private server and waits; SIGKILL to the child must take its mariadbd along, and the next
// sweep must remove the directory it left.
func TestPrivateServerDiesWithTestProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "1" {
		p, err := newProcess()
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		r, _ := p.current()
		fmt.Printf("%d %s\n", r.cmd.Process.Pid, filepath.Dir(p.dir))
		time.Sleep(5 * time.Minute) // until the parent kills it
		os.Exit(1)
	}
	if _, err := findBinaries(); err != nil {
		failOrSkip(t, err)
	}
	t.Parallel()

	child := exec.Command(os.Args[0], "-test.run=^TestPrivateServerDiesWithTestProcess$", "-test.count=1")
	child.Env = append(os.Environ(), helperEnv+"=1")
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Scan()
		lines <- sc.Text()
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(startTimeout):
		t.Fatalf("child did not report its server within %v", startTimeout)
	}
	var pid int
	var root string
	if _, err := fmt.Sscanf(line, "%d %s", &pid, &root); err != nil {
		t.Fatalf("child reported %q: %v", line, err)
	}
	if !processAlive(pid) {
		t.Fatalf("child's mariadbd (pid %d) is not running before the child is killed", pid)
	}

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("mariadbd (pid %d) outlived its killed test process by 10s", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}

	if _, err := os.Stat(filepath.Join(root, ownerFile)); err != nil {
		t.Fatalf("killed child left no work dir to sweep: %v", err)
	}
	sweepStale()
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("sweep left the dead process's directory %s (stat err %v)", root, err)
	}
}
