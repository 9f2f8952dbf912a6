package framework

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	modulePath = "github.com/pipelines-apiserver/pipelines-apiserver"
	serverPkg  = "./cmd/pipelines-apiserver"
	serverName = "pipelines-apiserver"

	serverStopGrace = 30 * time.Second
)

// apiServer is the pipelines-apiserver child process.
type apiServer struct {
	binary  string
	logFile string
	port    int
	// args returns the flags for a server listening on port.
	args func(port int) []string
	// caPool verifies the serving certificate for /readyz.
	caPool *x509.CertPool
	proc   *process
}

// repoRoot finds the module's root: from the working directory upwards (tests run in their
// package directory, `make run` in the root), then from this source file's location.
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
			data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && bytes.HasPrefix(data, []byte("module "+modulePath+"\n")) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("the %s module is not above %v", modulePath, starts)
}

// buildServer compiles cmd/pipelines-apiserver into out. The Go build cache makes a rebuild
// of unchanged sources a matter of seconds.
func buildServer(ctx context.Context, root, out string) error {
	// `go test` puts its own go on PATH; `make run` runs with the user's PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building the server needs go on PATH: %w", err)
	}
	// Built next to out and renamed, so that a running process never sees half a binary.
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", tmp, serverPkg)
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", serverPkg, err, output.String())
	}
	return os.Rename(tmp, out)
}

// start starts the server, on a free port the first time and on the same port afterwards
// (the APIService's EndpointSlice points at it), and waits until /readyz passes.
func (s *apiServer) start(ctx context.Context, timeout time.Duration) error {
	fresh := s.port == 0
	for attempt := 1; ; attempt++ {
		if fresh {
			port, err := freePort()
			if err != nil {
				return err
			}
			s.port = port
		}
		p, err := startProcess(serverName, s.binary, s.logFile, s.args(s.port))
		if err != nil {
			return err
		}
		s.proc = p
		err = waitReady(ctx, p, timeout, s.ready)
		if err == nil {
			return nil
		}
		p.kill()
		if !strings.Contains(p.logTail(logTailLines), "address already in use") || attempt == startAttempts {
			return err
		}
		if !fresh {
			time.Sleep(time.Second)
		}
	}
}

func (s *apiServer) stop() error {
	if s.proc == nil {
		return nil
	}
	return s.proc.stop(serverStopGrace)
}

func (s *apiServer) url() string {
	return "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// ready asks /readyz, which includes the database. Health checks are the only paths the
// server serves to anonymous callers.
func (s *apiServer) ready(ctx context.Context) (bool, string) {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12}},
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url()+"/readyz?verbose", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("%s: %s", resp.Status, failedChecks(string(body)))
	}
	return true, ""
}

// failedChecks keeps the failing lines of a verbose /readyz answer.
func failedChecks(body string) string {
	var failed []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "[-]") {
			failed = append(failed, line)
		}
	}
	if len(failed) == 0 {
		return strings.TrimSpace(body)
	}
	return strings.Join(failed, "; ")
}

func loadCAPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New(file + " holds no PEM certificate")
	}
	return pool, nil
}
