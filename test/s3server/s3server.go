// Package s3server runs a real S3-compatible object store for tests and `make run`:
// SeaweedFS's `weed server -s3` (master, volume server, filer and S3 gateway in one
// process), built from Go modules pinned in hack/tools/seaweedfs by
// hack/build-controlplane.sh into the control-plane binary directory. It listens on free
// loopback ports only, keeps its data in a directory of the caller's, sends no telemetry
// and accepts one identity, whose keys it generates.
//
//	srv := s3server.Start(t)
//	srv.Bucket(t, "artifacts")
//	// srv.Endpoint, srv.AccessKey, srv.SecretKey, srv.Region
package s3server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
)

const (
	// Binary is the program's name in the control-plane binary directory.
	Binary = "weed"
	// Region is the region the server answers for (SeaweedFS accepts any).
	Region = "us-east-1"

	envRequireTestDeps = "PIPELINES_REQUIRE_TESTDEPS"
	startTimeout       = 2 * time.Minute
	startAttempts      = 3
	// stopGrace is how long Stop waits after SIGTERM: weed server stops its volume server
	// before the filer, whose last metadata-log flush then waits 15 s for a volume.
	stopGrace = 30 * time.Second
)

// Server is a running SeaweedFS S3 gateway.
type Server struct {
	// Endpoint is the S3 API's host:port, plain HTTP.
	Endpoint string
	// AccessKey and SecretKey are the one identity's credentials, allowed everything.
	AccessKey, SecretKey string
	// Region is the region to sign requests for.
	Region string
	// LogFile holds the server's output.
	LogFile string

	cmd       *exec.Cmd
	done      chan struct{}
	waitErr   error
	sockets   string
	grpcPorts map[string]int
}

// Config configures Run.
type Config struct {
	// Binary is weed's path.
	Binary string
	// Dir holds the data (volumes, the filer's store, the master's metadata), the identity
	// file and the log; it is created if missing. A Dir an earlier Run used keeps its
	// buckets, objects and, unless keys are given, identity.
	Dir string
	// AccessKey and SecretKey are the identity's credentials; empty means new random ones.
	AccessKey, SecretKey string
}

// FindBinary returns weed's path: in $PIPELINES_CONTROLPLANE_BIN when set, else in the
// directory hack/build-controlplane.sh prints (building on first use, as for the control
// plane).
func FindBinary(ctx context.Context) (string, error) {
	dir, err := controlplane.ResolveBinDir(ctx, klog.FromContext(ctx), "")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, Binary)
	if _, err := exec.LookPath(path); err != nil {
		return "", fmt.Errorf("SeaweedFS (%s) is not built: run hack/build-controlplane.sh: %w", path, err)
	}
	return path, nil
}

// BinaryOrSkip returns weed's path (FindBinary), or skips the test when weed is not built
// (fails it when PIPELINES_REQUIRE_TESTDEPS=1).
func BinaryOrSkip(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	binary, err := FindBinary(ctx)
	if err != nil {
		if os.Getenv(envRequireTestDeps) == "1" {
			t.Fatalf("%s=1 and no S3 server: %v", envRequireTestDeps, err)
		}
		t.Skipf("no S3 server: %v", err)
	}
	return binary
}

// Start starts a server for the test with its data under t.TempDir() and stops it when
// the test ends. It skips the test when weed is not built (fails it when
// PIPELINES_REQUIRE_TESTDEPS=1).
func Start(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	s, err := Run(ctx, Config{Binary: BinaryOrSkip(t), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The data goes with the test, so there is nothing for a graceful stop to save.
		s.Kill()
		if t.Failed() {
			t.Logf("end of SeaweedFS's log %s:\n%s", s.LogFile, tail(s.LogFile, 30))
		}
	})
	return s
}

// Run starts a server as Config says and waits until it stores objects. Ports another
// process took between choosing and binding them make it try again with new ones.
func Run(ctx context.Context, cfg Config) (*Server, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		cfg.AccessKey, cfg.SecretKey = savedIdentity(cfg.Dir)
	}
	if cfg.AccessKey == "" {
		cfg.AccessKey = "pipelines-" + randomHex(8)
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = randomHex(24)
	}
	var err error
	for range startAttempts {
		var s *Server
		if s, err = run(ctx, cfg); err == nil {
			return s, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, err
}

func run(ctx context.Context, cfg Config) (*Server, error) {
	// The ports of an earlier Run in Dir, when they are free: the master keeps its state
	// under its address, and a client configured before still finds the gateway.
	portsFile := filepath.Join(cfg.Dir, "ports.json")
	var ports []int
	data, err := os.ReadFile(portsFile)
	if err != nil || json.Unmarshal(data, &ports) != nil || len(ports) != 8 || !free(ports) {
		if ports, err = freePorts(8); err != nil {
			return nil, err
		}
	}
	if data, err := json.Marshal(ports); err != nil || os.WriteFile(portsFile, data, 0o600) != nil {
		return nil, fmt.Errorf("writing %s", portsFile)
	}
	identityFile := filepath.Join(cfg.Dir, identityFile)
	data, _ = json.Marshal(identities{Identities: []identity{{
		Name:        "pipelines",
		Credentials: []credential{{AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey}},
		Actions:     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}})
	if err := os.WriteFile(identityFile, data, 0o600); err != nil {
		return nil, err
	}
	// The filer and the gateway also listen on Unix sockets, whose paths must be short
	// (108 bytes), so not under a test's temporary directory.
	sockets, err := os.MkdirTemp("", "weed-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[6])),
		AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Region: Region,
		LogFile:   filepath.Join(cfg.Dir, "weed.log"),
		done:      make(chan struct{}),
		sockets:   sockets,
		grpcPorts: map[string]int{"master": ports[1], "volume": ports[3], "filer": ports[5], "s3": ports[7]},
	}
	port := func(i int) string { return strconv.Itoa(ports[i]) }
	// -logdir: glog also writes files, by default in /tmp.
	args := []string{"-logdir=" + cfg.Dir, "server", "-s3", "-filer",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + cfg.Dir,
		"-master.port=" + port(0), "-master.port.grpc=" + port(1),
		"-volume.port=" + port(2), "-volume.port.grpc=" + port(3),
		"-filer.port=" + port(4), "-filer.port.grpc=" + port(5),
		"-s3.port=" + port(6), "-s3.port.grpc=" + port(7),
		// Nothing leaves the machine, and nothing listens that the tests do not use.
		"-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
		"-filer.localSocket=" + filepath.Join(sockets, "filer.sock"),
		"-s3.localSocket=" + filepath.Join(sockets, "s3.sock"),
		// Small volumes (each bucket is a collection with volumes of its own), grown one
		// at a time, keep the data directory small.
		"-master.volumeSizeLimitMB=64", "-volume.max=0",
		// No other volume server takes over, so there is nothing to wait for on stop.
		"-volume.preStopSeconds=0",
		"-s3.config=" + identityFile,
	}
	log, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	fmt.Fprintf(log, "\n===== %s starting %s %s\n", time.Now().Format(time.RFC3339), cfg.Binary, strings.Join(args, " "))
	s.cmd = exec.Command(cfg.Binary, args...)
	s.cmd.Dir = cfg.Dir // weed reads security.toml and the like from its working directory
	s.cmd.Stdout, s.cmd.Stderr = log, log
	// One volume at a time; and no freeze of volume growth when the master's state is new
	// but the volumes are not (ports taken since the last Run): with one master and one
	// volume server there is no other inventory to check against.
	s.cmd.Env = append(os.Environ(), "WEED_MASTER_VOLUME_GROWTH_COPY_1=1",
		"WEED_MASTER_VOLUME_GROWTH_FREEZE_ON_TOPOLOGY_MISMATCH=false")
	// The server must not outlive a killed test binary or `make run`.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(sockets)
		return nil, fmt.Errorf("starting %s: %w", cfg.Binary, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("SeaweedFS did not start: %w; end of %s:\n%s", err, s.LogFile, tail(s.LogFile, 30))
	}
	return s, nil
}

// identityFile, in Config.Dir, is SeaweedFS's S3 identity configuration (-s3.config).
const identityFile = "s3-identities.json"

type identities struct {
	Identities []identity `json:"identities"`
}

type identity struct {
	Name        string       `json:"name"`
	Credentials []credential `json:"credentials"`
	Actions     []string     `json:"actions"`
}

type credential struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

// savedIdentity returns the keys an earlier Run in dir wrote, or empty ones.
func savedIdentity(dir string) (string, string) {
	var ids identities
	data, err := os.ReadFile(filepath.Join(dir, identityFile))
	if err != nil || json.Unmarshal(data, &ids) != nil || len(ids.Identities) == 0 || len(ids.Identities[0].Credentials) == 0 {
		return "", ""
	}
	c := ids.Identities[0].Credentials[0]
	return c.AccessKey, c.SecretKey
}

// waitReady waits until an object can be written and read back: the gateway answers,
// knows the identity, and the master has a writable volume.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	c, err := s.Client()
	if err != nil {
		return err
	}
	const probe = "pipelines-s3server-probe"
	var last error
	for {
		last = func() error {
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			defer rcancel()
			if err := c.MakeBucket(rctx, probe, minio.MakeBucketOptions{Region: s.Region}); err != nil {
				if resp := minio.ToErrorResponse(err); resp.Code != minio.BucketAlreadyOwnedByYou && resp.Code != minio.BucketAlreadyExists {
					return err
				}
			}
			if _, err := c.PutObject(rctx, probe, "probe", bytes.NewReader([]byte("ok")), 2, minio.PutObjectOptions{}); err != nil {
				return err
			}
			if err := c.RemoveObject(rctx, probe, "probe", minio.RemoveObjectOptions{}); err != nil {
				return err
			}
			return c.RemoveBucket(rctx, probe)
		}()
		if last == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("weed exited: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready within %v: %w", startTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Client returns a minio-go client of the server with the identity's credentials.
func (s *Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region: s.Region,
		Secure: false,
	})
}

// Bucket creates a bucket, failing the test if it cannot.
func (s *Server) Bucket(t testing.TB, name string) {
	t.Helper()
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
}

// Kill stops the server at once (SIGKILL).
func (s *Server) Kill() {
	defer s.removeSockets()
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Stop stops the server: SIGTERM, then SIGKILL after a grace period.
func (s *Server) Stop() error {
	defer s.removeSockets()
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(stopGrace):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("weed did not exit within %v of SIGTERM and was killed; see %s", stopGrace, s.LogFile)
	}
}

// removeSockets removes the Unix sockets the server made: those of Config's and those
// weed names after the gRPC ports in /tmp and leaves behind.
func (s *Server) removeSockets() {
	_ = os.RemoveAll(s.sockets)
	for svc, port := range s.grpcPorts {
		_ = os.Remove(fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", svc, port))
	}
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// free says whether every port is free on 127.0.0.1.
func free(ports []int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		_ = l.Close()
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const maxRead = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxRead {
		_, _ = f.Seek(st.Size()-maxRead, io.SeekStart)
	}
	data, err := io.ReadAll(f)
	if err != nil && !errors.Is(err, io.EOF) {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ConfigureNamespace creates bucket and makes it, under the prefix root, namespace ns's
// artifact store: the ConfigMap and Secret pipelines-artifacts a team writes
// (docs/artifacts.md).
func (s *Server) ConfigureNamespace(t testing.TB, kube kubernetes.Interface, ns, bucket string) {
	t.Helper()
	s.Bucket(t, bucket)
	meta := metav1.ObjectMeta{Name: "pipelines-artifacts"}
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{
		"pipelineRoot": "s3://" + bucket + "/root", "endpoint": s.Endpoint, "region": s.Region, "insecure": "true",
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{
		"accessKey": s.AccessKey, "secretKey": s.SecretKey,
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
