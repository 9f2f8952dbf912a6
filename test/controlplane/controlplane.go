// Package controlplane runs a real Kubernetes control plane on loopback for integration
// tests and `make run`: etcd and kube-apiserver v1.37 (built from Go modules by
// hack/build-controlplane.sh), with the certificates an aggregated API server needs
// (cluster CA, front-proxy CA and client, serving certificate and APIService caBundle),
// client-certificate users, and helpers to register an APIService that routes to a server
// listening on 127.0.0.1.
//
// A caller may ask for more (Config): kube-controller-manager (default service accounts,
// service-account tokens, namespace deletion, ClusterRole aggregation, the garbage
// collector; see controllerManagerControllers), kube-scheduler, and a node simulated by kwok, which moves the pods
// bound to it through Running to Succeeded or Failed without running any container
// (PodOutcomeAnnotation). StartWorkflowController then runs Argo Workflows' own controller.
//
// Without kube-controller-manager, namespaces get no default service account
// (EnsureServiceAccount), deleted namespaces stay Terminating, and nothing garbage-collects
// dependents by owner reference. Built-in ClusterRoles (view, edit, admin, ...) exist:
// kube-apiserver's RBAC post-start hook creates them before /readyz passes. The rules of the
// aggregated ones (admin, edit, view and any ClusterRole with an aggregationRule) are then
// filled by a small in-process stand-in for the controller-manager's clusterrole-aggregation
// controller, which runs from Start to Stop.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

const (
	// PipelinesAudience is the audience of service-account tokens for the aggregated server,
	// which verifies them with a TokenReview for this audience. It is deliberately not one of
	// kube-apiserver's --api-audiences: a token minted for kube-apiserver must not be
	// accepted by the aggregated server, nor the reverse.
	PipelinesAudience = "pipelines.kubeflow.org"
	// ServiceAccountIssuer is kube-apiserver's --service-account-issuer, also the default
	// audience of its tokens.
	ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

	// DefaultServiceNamespace and DefaultServiceName name the Service in front of the
	// aggregated server unless Config says otherwise.
	DefaultServiceNamespace = "pipelines-system"
	DefaultServiceName      = "pipelines-apiserver"

	serviceClusterIPRange = "10.0.0.0/24"
	defaultStartTimeout   = 3 * time.Minute
	// Argo's full Workflow CRD is 2.8 MB; etcd's default limit is 1.5 MiB.
	etcdMaxRequestBytes = 8 << 20
	startAttempts       = 3
)

// Config configures Start. Only Dir matters for most callers.
type Config struct {
	// Dir holds certificates (pki/), etcd data (etcd/), logs (logs/), kubeconfigs and users
	// (users/). An existing Dir is reused: certificates, keys and etcd data survive a Stop
	// and Start. Empty means a new temporary directory that Stop removes.
	Dir string
	// BinDir holds etcd, kube-apiserver and kubectl. Empty means $PIPELINES_CONTROLPLANE_BIN,
	// else the output of hack/build-controlplane.sh (which builds them the first time).
	BinDir string

	// ServiceNamespace and ServiceName name the Service RegisterAPIService creates in front of
	// the aggregated server; its serving certificate is issued for their host names. Defaults:
	// DefaultServiceNamespace, DefaultServiceName.
	ServiceNamespace, ServiceName string

	// APIServerFlags are appended to kube-apiserver's flags; a repeated single-valued flag
	// overrides the default (for example --v=4 or --feature-gates=...).
	APIServerFlags []string
	// EtcdFlags are appended to etcd's flags.
	EtcdFlags []string
	// EtcdFsync runs etcd as production clusters run it, syncing every commit to disk
	// before it answers. By default it does not (--unsafe-no-fsync): a throw-away local
	// cluster needs speed more than surviving a power cut. The benchmarks compare with
	// etcd as it is run in production.
	EtcdFsync bool
	// AuthorizationWebhook, when set, is consulted after Node and RBAC (which alone
	// authorize otherwise).
	AuthorizationWebhook *AuthorizationWebhook

	// ControllerManager runs kube-controller-manager with the controllers a cluster's workloads
	// need (see the package comment) in place of the in-process ClusterRole aggregation.
	ControllerManager bool
	// Scheduler runs kube-scheduler, which binds pods to nodes.
	Scheduler bool
	// SimulatedNode, if not empty, registers a Node of that name and runs kwok, the node and
	// pod simulator, for it: with Scheduler, pods are bound to it and kwok makes them Running and
	// then Succeeded or Failed as PodOutcomeAnnotation says.
	SimulatedNode string

	// StartTimeout bounds how long Start waits for each process to become ready (default 3m;
	// the first run on a loaded two-core machine takes tens of seconds). Building binaries is
	// bounded only by ctx.
	StartTimeout time.Duration
	// Logger receives progress messages. Default: klog.Background(). Tests can pass
	// ktesting.NewLogger(t, ktesting.NewConfig()) to see them in the test log.
	Logger klog.Logger
}

// ControlPlane is a running etcd and kube-apiserver. Stop it when done.
type ControlPlane struct {
	dir, binDir  string
	removeDir    bool
	logger       klog.Logger
	svcNamespace string
	svcName      string
	certs        Certs
	// authorization is kube-apiserver's --authorization-config, if any.
	authorization string

	lock      *os.File
	etcd      *process
	apiserver *process
	etcdURL   string
	serverURL string

	adminKubeconfig string
	adminConfig     *rest.Config
	client          kubernetes.Interface
	dynamic         dynamic.Interface

	// components are the optional processes (kube-controller-manager, kube-scheduler, kwok,
	// Argo's workflow controller), in the order they started.
	components []*process

	// backgroundCtx lives until Stop, which calls stopBackground; the in-process stand-ins
	// (ClusterRole aggregation, Argo's wait container) run in it.
	backgroundCtx  context.Context
	stopBackground context.CancelFunc
	aggregator     *roleAggregator
	informers      []informers.SharedInformerFactory

	stopOnce sync.Once
	stopErr  error
}

// Start brings up etcd and kube-apiserver on free loopback ports and waits until
// kube-apiserver's /readyz passes. ctx bounds only the start-up (including building
// binaries); the processes run until Stop or until the calling process dies.
func Start(ctx context.Context, cfg Config) (_ *ControlPlane, err error) {
	c := &ControlPlane{
		dir: cfg.Dir, logger: cfg.Logger,
		svcNamespace: cfg.ServiceNamespace, svcName: cfg.ServiceName,
	}
	if c.logger.GetSink() == nil {
		c.logger = klog.Background()
	}
	c.logger = klog.LoggerWithName(c.logger, "controlplane")
	if c.svcNamespace == "" {
		c.svcNamespace = DefaultServiceNamespace
	}
	if c.svcName == "" {
		c.svcName = DefaultServiceName
	}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "controlplane-"); err != nil {
			return nil, fmt.Errorf("creating control-plane dir: %w", err)
		}
		c.removeDir = true
	}
	if c.dir, err = filepath.Abs(c.dir); err != nil {
		return nil, fmt.Errorf("control-plane dir: %w", err)
	}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				c.logger.Error(stopErr, "Cleaning up after a failed start")
			}
		}
	}()
	for _, sub := range []string{"logs", "users", "kubectl-cache"} {
		if err := os.MkdirAll(filepath.Join(c.dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("creating control-plane dir: %w", err)
		}
	}
	if err := c.lockDir(); err != nil {
		return nil, err
	}

	if c.binDir, err = ResolveBinDir(ctx, c.logger, cfg.BinDir); err != nil {
		return nil, err
	}

	c.certs = newCerts(filepath.Join(c.dir, "pki"))
	if err := ensureCerts(c.certs, c.serviceHosts(), []net.IP{firstServiceIP()}); err != nil {
		return nil, fmt.Errorf("preparing certificates in %s: %w", c.dir, err)
	}

	if cfg.AuthorizationWebhook != nil {
		if c.authorization, err = c.writeAuthorizationConfig(cfg.AuthorizationWebhook); err != nil {
			return nil, fmt.Errorf("preparing the authorization webhook: %w", err)
		}
	}

	begin := time.Now()
	if err := c.startEtcd(ctx, timeout, cfg.EtcdFsync, cfg.EtcdFlags); err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx, timeout, cfg.APIServerFlags); err != nil {
		return nil, err
	}
	if err := c.rewriteUserKubeconfigs(); err != nil {
		return nil, err
	}
	c.backgroundCtx, c.stopBackground = context.WithCancel(context.WithoutCancel(ctx))
	if cfg.ControllerManager {
		if err := c.startControllerManager(ctx, timeout); err != nil {
			return nil, err
		}
	} else {
		syncCtx, cancelSync := context.WithTimeout(c.backgroundCtx, timeout)
		defer cancelSync()
		if c.aggregator, err = startRoleAggregator(syncCtx, c.backgroundCtx, c.logger, c.client); err != nil {
			return nil, fmt.Errorf("aggregating ClusterRoles: %w", err)
		}
	}
	if cfg.Scheduler {
		if err := c.startScheduler(ctx, timeout); err != nil {
			return nil, err
		}
	}
	if cfg.SimulatedNode != "" {
		if err := c.startKwok(ctx, timeout, cfg.SimulatedNode); err != nil {
			return nil, err
		}
	}
	c.logger.Info("Control plane ready", "server", c.serverURL, "kubeconfig", c.adminKubeconfig,
		"dir", c.dir, "elapsed", time.Since(begin).Round(time.Millisecond))
	return c, nil
}

// lockDir makes sure that no other control plane uses Dir at the same time; the lock goes away
// with the process that holds it.
func (c *ControlPlane) lockDir() error {
	f, err := os.OpenFile(filepath.Join(c.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("locking %s: %w", c.dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return fmt.Errorf("control-plane dir %s is in use by another process: %w", c.dir, err)
	}
	c.lock = f
	return nil
}

func (c *ControlPlane) startEtcd(ctx context.Context, timeout time.Duration, fsync bool, extra []string) error {
	logFile := logPath(c.dir, "etcd")
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		client := "http://127.0.0.1:" + strconv.Itoa(ports[0])
		peer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
		args := []string{
			"--name=controlplane",
			"--data-dir=" + filepath.Join(c.dir, "etcd"),
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=controlplane=" + peer,
			"--max-request-bytes=" + strconv.Itoa(etcdMaxRequestBytes),
			"--log-level=warn",
		}
		if !fsync {
			args = append(args, "--unsafe-no-fsync=true")
		}
		p, err := startProcess(c.logger, "etcd", filepath.Join(c.binDir, "etcd"), logFile, append(args, extra...))
		if err != nil {
			return err
		}
		c.etcd, c.etcdURL = p, client
		err = waitReady(ctx, p, timeout, func(ctx context.Context) (bool, string) { return etcdHealthy(ctx, client) })
		if err == nil {
			c.logger.V(1).Info("etcd ready", "url", client)
			return nil
		}
		if p.exited() && p.addressInUse() && attempt < startAttempts {
			c.logger.Info("etcd port taken, retrying with other ports", "attempt", attempt)
			continue
		}
		return err
	}
}

func etcdHealthy(ctx context.Context, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return false, err.Error()
	}
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"true"`), string(body)
}

func (c *ControlPlane) startAPIServer(ctx context.Context, timeout time.Duration, extra []string) error {
	logFile := logPath(c.dir, "kube-apiserver")
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		c.serverURL = "https://127.0.0.1:" + strconv.Itoa(ports[0])
		if err := c.writeAdminKubeconfig(); err != nil {
			return err
		}
		p, err := startProcess(c.logger, "kube-apiserver", filepath.Join(c.binDir, "kube-apiserver"), logFile,
			append(c.apiServerArgs(ports[0]), extra...))
		if err != nil {
			return err
		}
		c.apiserver = p
		err = waitReady(ctx, p, timeout, c.apiServerReady)
		if err == nil {
			return nil
		}
		if p.exited() && p.addressInUse() && attempt < startAttempts {
			c.logger.Info("kube-apiserver port taken, retrying with another port", "attempt", attempt)
			continue
		}
		return err
	}
}

func (c *ControlPlane) apiServerArgs(port int) []string {
	pki := c.certs
	authorization := "--authorization-mode=Node,RBAC"
	if c.authorization != "" {
		authorization = "--authorization-config=" + c.authorization
	}
	return []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(c.dir, "pki", "generated"),
		"--tls-cert-file=" + pki.APIServerCert,
		"--tls-private-key-file=" + pki.APIServerKey,
		"--client-ca-file=" + pki.ClusterCA,
		"--etcd-servers=" + c.etcdURL,
		authorization,
		"--service-cluster-ip-range=" + serviceClusterIPRange,
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-account-key-file=" + pki.ServiceAccountPublicKey,
		"--service-account-signing-key-file=" + pki.ServiceAccountKey,
		"--api-audiences=" + ServiceAccountIssuer,
		// Front proxy: what kube-apiserver presents to aggregated servers, and what they trust.
		"--requestheader-client-ca-file=" + pki.FrontProxyCA,
		"--requestheader-allowed-names=" + FrontProxyClientName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-uid-headers=X-Remote-Uid",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + pki.FrontProxyClientCert,
		"--proxy-client-key-file=" + pki.FrontProxyClientKey,
		// Reach aggregated servers through their Service's EndpointSlices, not a cluster IP
		// (there is no kube-proxy); see RegisterAPIService.
		"--enable-aggregator-routing=true",
		// The endpoint reconciler would publish 127.0.0.1 for the "kubernetes" Service, which
		// Endpoints validation rejects (loopback), and log the failure forever.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
	}
}

// apiServerReady asks /readyz with the admin credentials.
func (c *ControlPlane) apiServerReady(ctx context.Context) (bool, string) {
	if c.adminConfig == nil {
		return false, "no admin config"
	}
	cfg := rest.CopyConfig(c.adminConfig)
	cfg.Timeout = 5 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return false, err.Error()
	}
	body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").Param("verbose", "true").DoRaw(ctx)
	if err != nil {
		// The body lists the failing checks.
		return false, fmt.Sprintf("%v: %s", err, lastLines(string(body), 10))
	}
	return true, ""
}

// waitReady polls check until it passes, the process exits, timeout passes or ctx ends.
func waitReady(ctx context.Context, p *process, timeout time.Duration, check func(context.Context) (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ok, detail := check(ctx)
		if ok {
			return nil
		}
		if detail != "" {
			last = detail
		}
		select {
		case <-p.done:
			return p.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (last check: %s): %w; last lines of %s:\n%s",
				p.name, last, ctx.Err(), p.logFile, p.logTail(30))
		case <-tick.C:
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop shuts the optional components (the last started first), kube-apiserver and then etcd
// down (SIGTERM, then SIGKILL after a grace period) and releases Dir. It is safe to call more
// than once.
func (c *ControlPlane) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		// They keep no state of their own; Argo's controller takes over 15s to stop.
		for i := len(c.components) - 1; i >= 0; i-- {
			_ = c.components[i].stop(3 * time.Second)
		}
		if c.stopBackground != nil {
			c.stopBackground()
			if c.aggregator != nil {
				<-c.aggregator.done
			}
			for _, f := range c.informers {
				f.Shutdown()
			}
		}
		if c.apiserver != nil {
			errs = append(errs, c.apiserver.stop(30*time.Second))
		}
		if c.etcd != nil {
			errs = append(errs, c.etcd.stop(15*time.Second))
		}
		if c.lock != nil {
			errs = append(errs, c.lock.Close())
		}
		if c.removeDir {
			errs = append(errs, os.RemoveAll(c.dir))
		}
		c.stopErr = errors.Join(errs...)
		c.logger.V(1).Info("Control plane stopped", "dir", c.dir, "err", c.stopErr)
	})
	return c.stopErr
}

// Dir is the working directory (certificates, data, logs, kubeconfigs).
func (c *ControlPlane) Dir() string { return c.dir }

// BinDir is the directory holding etcd, kube-apiserver and kubectl.
func (c *ControlPlane) BinDir() string { return c.binDir }

// LogDir holds etcd.log, kube-apiserver.log and the logs of the optional components.
func (c *ControlPlane) LogDir() string { return filepath.Join(c.dir, "logs") }

// ServerURL is kube-apiserver's https://127.0.0.1:<port>.
func (c *ControlPlane) ServerURL() string { return c.serverURL }

// EtcdURL is etcd's client URL, http://127.0.0.1:<port>.
func (c *ControlPlane) EtcdURL() string { return c.etcdURL }

// Certs are the certificate and key files in Dir/pki.
func (c *ControlPlane) Certs() Certs { return c.certs }

// AdminKubeconfig is the path of a kubeconfig for CN=admin in group system:masters.
func (c *ControlPlane) AdminKubeconfig() string { return c.adminKubeconfig }

// AdminRESTConfig returns a copy of the admin client configuration.
func (c *ControlPlane) AdminRESTConfig() *rest.Config { return rest.CopyConfig(c.adminConfig) }

// Client is a clientset with admin rights.
func (c *ControlPlane) Client() kubernetes.Interface { return c.client }

// ServiceHosts are the host names of the aggregated server's Service, for which
// Certs().ServingCert is valid (besides localhost and 127.0.0.1).
func (c *ControlPlane) ServiceHosts() []string { return c.serviceHosts() }

func (c *ControlPlane) serviceHosts() []string {
	base := c.svcName + "." + c.svcNamespace
	return []string{base + ".svc", base + ".svc.cluster.local", base, c.svcName}
}

// firstServiceIP is the cluster IP of the "kubernetes" Service: the first address of the
// service range.
func firstServiceIP() net.IP {
	_, ipNet, _ := net.ParseCIDR(serviceClusterIPRange)
	ip := ipNet.IP.To4()
	return net.IPv4(ip[0], ip[1], ip[2], ip[3]+1)
}
