// Package framework starts a whole local pipelines-apiserver environment, for the end-to-end
// tests and for `make run`: a private MariaDB, etcd and kube-apiserver (test/controlplane),
// this repository's pipelines-apiserver built from source and run as a child process, its
// APIService, the ClusterRoles and RBAC of artifacts/, and two teams: namespaces team-a and
// team-b whose users alice and bob are bound to the built-in ClusterRole edit there.
//
// A Config.Dir that an earlier Start used is reused: the database, etcd's data and every
// certificate survive, so a second `make run` finds what the first one created. Without a
// Dir everything lives in a temporary directory that Stop removes.
//
// The processes log to files in Dir (ServerLog, ...); errors about a process that failed quote
// the end of its log, and LogTails gathers them for a failing test.
//
//	env, err := framework.Start(ctx, framework.Config{})
//	if err != nil { ... }
//	defer env.Stop()
//	out, _, err := env.Kubectl(ctx, "alice", "get", "runs")
package framework

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/actionauthz"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
)

const (
	// Group and Version are the API the server serves.
	Group   = "pipelines.kubeflow.org"
	Version = "v1beta1"

	// SimulatedNode is the node kwok simulates when Config.Execution is set: step pods are
	// bound to it and run no container.
	SimulatedNode = "kwok-node"

	// AdminUser is the kubeconfig context of the cluster administrator (group system:masters).
	AdminUser = "admin"

	// ServerIdentity is the user the server calls kube-apiserver as (TokenReview,
	// SubjectAccessReview, the front-proxy CA, pods for runs/log): the name of the service
	// account artifacts/rbac.yaml grants those rights, here with a client certificate.
	ServerIdentity = "system:serviceaccount:pipelines-system:pipelines-apiserver"

	defaultStartTimeout = 3 * time.Minute
	fieldManager        = "pipelines-framework"
	startAttempts       = 3
	logTailLines        = 40
	problemRecords      = 10
	clientQPS           = 50
	clientBurst         = 100
)

// Team is a namespace and the user bound to the ClusterRole edit in it.
type Team struct {
	User, Namespace string
}

// Teams are the demo users and their namespaces. A user has no rights outside its namespace.
var Teams = []Team{{User: "alice", Namespace: "team-a"}, {User: "bob", Namespace: "team-b"}}

// Config configures Start. The zero value is a temporary environment for tests.
type Config struct {
	// Dir holds everything: mariadb/, controlplane/ (certificates, etcd data), server/ (the
	// binary and its log) and the kubeconfig. An existing Dir is reused; only one
	// environment uses a Dir at a time. Empty means a temporary directory that Stop removes.
	Dir string
	// BinDir holds etcd, kube-apiserver and kubectl; see controlplane.Config.BinDir.
	BinDir string
	// ServerBinary is a pipelines-apiserver binary to run. Empty means `go build
	// ./cmd/pipelines-apiserver` from this repository into Dir/server.
	ServerBinary string
	// ServerArgs are appended to the server's flags (for example --v=4).
	ServerArgs []string
	// CRDs are manifests of CustomResourceDefinitions (for example Argo's Workflow CRD),
	// files or directories, created before the server starts, so that its controllers find
	// them at once.
	CRDs []string
	// Execution runs what carries runs out, as in a cluster: kube-controller-manager,
	// kube-scheduler, the node SimulatedNode whose pods kwok simulates, and Argo Workflows'
	// workflow-controller (so CRDs must hold all of Argo's CRDs). See docs/execution.md.
	Execution bool
	// StartTimeout bounds how long each process may take to become ready (default 3m).
	// Building binaries is bounded only by ctx.
	StartTimeout time.Duration
	// EtcdFsync runs etcd syncing every commit to disk, as in production; see
	// controlplane.Config.EtcdFsync.
	EtcdFsync bool
	// APIServerFlags are appended to kube-apiserver's flags (a later flag wins).
	APIServerFlags []string
	// Logger receives progress messages. Default: klog.Background().
	Logger klog.Logger
}

// StopMode says how a restart stops a process.
type StopMode int

const (
	// Graceful sends SIGTERM and waits for the process to exit.
	Graceful StopMode = iota
	// Kill sends SIGKILL: a crash, as far as the process can tell.
	Kill
)

// Environment is a running local environment. Stop it when done.
type Environment struct {
	dir       string
	removeDir bool
	lock      *os.File
	timeout   time.Duration
	logger    klog.Logger
	root      string

	// execution says whether Config.Execution started kube-controller-manager, Argo's
	// controller and the rest.
	execution bool
	db        *mariaDB
	cp        *controlplane.ControlPlane
	server    *apiServer
	// replicas are the servers StartReplica started, in order.
	replicas []*apiServer

	kubeconfig string
	// restartMu keeps restarts from overlapping.
	restartMu sync.Mutex

	stopOnce sync.Once
	stopErr  error
}

// Start brings the environment up and returns once the APIService is Available and alice and
// bob may use the API in their namespaces. ctx bounds the start-up only; the processes run
// until Stop or until the calling process dies. A *MissingDependencyError means MariaDB is
// not installed.
func Start(ctx context.Context, cfg Config) (_ *Environment, err error) {
	e := &Environment{dir: cfg.Dir, logger: cfg.Logger, timeout: cfg.StartTimeout, execution: cfg.Execution}
	if e.logger.GetSink() == nil {
		e.logger = klog.Background()
	}
	if e.timeout <= 0 {
		e.timeout = defaultStartTimeout
	}
	if e.root, err = repoRoot(); err != nil {
		return nil, err
	}
	if e.dir == "" {
		if e.dir, err = os.MkdirTemp("", "pipelines-env-"); err != nil {
			return nil, fmt.Errorf("creating environment dir: %w", err)
		}
		e.removeDir = true
	}
	if e.dir, err = filepath.Abs(e.dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			if stopErr := e.Stop(); stopErr != nil {
				e.logger.Error(stopErr, "Cleaning up after a failed start")
			}
		}
	}()
	for _, sub := range []string{"mariadb", "server"} {
		if err := os.MkdirAll(filepath.Join(e.dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("creating environment dir: %w", err)
		}
	}
	if err := e.lockDir(); err != nil {
		return nil, err
	}
	// Before anything slow: without MariaDB there is nothing to start.
	if e.db, err = newMariaDB(filepath.Join(e.dir, "mariadb")); err != nil {
		return nil, err
	}

	// The three slow steps are independent; on two cores the build overlaps with waiting.
	begin := time.Now()
	var wg sync.WaitGroup
	var dbErr, buildErr error
	binary := cfg.ServerBinary
	wg.Go(func() {
		if dbErr = e.db.install(ctx); dbErr == nil {
			dbErr = e.db.start(ctx, e.timeout)
		}
		if dbErr == nil {
			e.logger.Info("MariaDB ready", "addr", e.db.addr(), "log", e.db.logFile(), "elapsed", since(begin))
		}
	})
	if binary == "" {
		binary = filepath.Join(e.dir, "server", serverName)
		wg.Go(func() {
			if buildErr = buildServer(ctx, e.root, binary); buildErr == nil {
				e.logger.Info("Built pipelines-apiserver", "binary", binary, "elapsed", since(begin))
			}
		})
	}
	if !controlplane.BinariesBuilt() {
		e.logger.Info("Building kube-apiserver, etcd and kubectl the first time: that takes several minutes")
	}
	// kube-apiserver's authorization webhook is the server, whose port must be known
	// before kube-apiserver starts, minutes before the server listens on it.
	serverPort, err := reservedPort()
	if err != nil {
		return nil, err
	}
	cpConfig := controlplane.Config{
		Dir: filepath.Join(e.dir, "controlplane"), BinDir: cfg.BinDir,
		StartTimeout: e.timeout, Logger: e.logger, EtcdFsync: cfg.EtcdFsync, APIServerFlags: cfg.APIServerFlags,
		AuthorizationWebhook: &controlplane.AuthorizationWebhook{
			URL:             "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(serverPort)) + actionauthz.Path,
			MatchConditions: actionauthz.MatchConditions,
		},
	}
	if cfg.Execution {
		cpConfig.ControllerManager, cpConfig.Scheduler, cpConfig.SimulatedNode = true, true, SimulatedNode
	}
	e.cp, err = controlplane.Start(ctx, cpConfig)
	wg.Wait()
	if err = errors.Join(err, dbErr, buildErr); err != nil {
		return nil, err
	}

	serverKubeconfig, err := e.prepareCluster(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.createCRDs(ctx, cfg.CRDs); err != nil {
		return nil, err
	}
	if cfg.Execution {
		if err := e.cp.StartWorkflowController(ctx); err != nil {
			return nil, err
		}
		e.logger.Info("Argo's workflow controller, kube-controller-manager, kube-scheduler and kwok ready", "elapsed", since(begin))
	}
	if err := e.startServer(ctx, binary, serverKubeconfig, serverPort, cfg.ServerArgs); err != nil {
		return nil, err
	}
	if err := e.waitTeamsAuthorized(ctx); err != nil {
		return nil, err
	}
	if err := e.writeKubeconfig(); err != nil {
		return nil, err
	}
	e.logger.Info("Environment ready", "kubeconfig", e.kubeconfig, "dir", e.dir, "elapsed", since(begin))
	return e, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

// lockDir makes sure no other environment uses Dir; the lock goes away with the process.
func (e *Environment) lockDir() error {
	f, err := os.OpenFile(filepath.Join(e.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("locking %s: %w", e.dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return fmt.Errorf("environment dir %s is in use by another process: %w", e.dir, err)
	}
	e.lock = f
	return nil
}

// prepareCluster applies what a cluster administrator applies from artifacts/ (the server's
// namespace, RBAC and the aggregated ClusterRoles; the Deployment, Service and APIService are
// replaced by the local process), creates the teams and returns the server's kubeconfig.
func (e *Environment) prepareCluster(ctx context.Context) (string, error) {
	args := []string{"apply", "--server-side", "--force-conflicts", "--field-manager=" + fieldManager}
	for _, f := range []string{"namespace.yaml", "rbac.yaml", "clusterroles.yaml", "authorization-webhook.yaml"} {
		args = append(args, "-f", filepath.Join(e.root, "artifacts", f))
	}
	if _, _, err := e.cp.Kubectl(ctx, "", args...); err != nil {
		return "", fmt.Errorf("applying artifacts: %w", err)
	}
	kubeconfig, err := e.cp.NewUser(ctx, ServerIdentity, "system:serviceaccounts", "system:serviceaccounts:pipelines-system")
	if err != nil {
		return "", err
	}
	for _, team := range Teams {
		if err := e.cp.EnsureNamespace(ctx, team.Namespace); err != nil {
			return "", err
		}
		if _, err := e.cp.NewUser(ctx, team.User); err != nil {
			return "", err
		}
		// The account runs' pods run as by default (--default-run-service-account);
		// there is no controller-manager to create any.
		if err := e.cp.EnsureServiceAccount(ctx, team.Namespace, "pipeline-runner"); err != nil {
			return "", err
		}
		binding := rbacv1ac.RoleBinding(team.User+"-edit", team.Namespace).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("ClusterRole").WithName("edit")).
			WithSubjects(rbacv1ac.Subject().WithAPIGroup("rbac.authorization.k8s.io").WithKind("User").WithName(team.User))
		_, err := e.cp.Client().RbacV1().RoleBindings(team.Namespace).Apply(ctx, binding, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
		if err != nil {
			return "", fmt.Errorf("binding %s to edit in %s: %w", team.User, team.Namespace, err)
		}
	}
	return kubeconfig, nil
}

// createCRDs creates the CustomResourceDefinitions in files, unless they exist (a reused
// Dir), and waits until kube-apiserver serves them. kubectl create, not apply: Argo's full
// CRD is too large for the last-applied annotation and its managed fields.
func (e *Environment) createCRDs(ctx context.Context, files []string) error {
	for _, f := range files {
		_, stderr, err := e.cp.Kubectl(ctx, "", "create", "-f", f, "-o", "name")
		if err != nil && !strings.Contains(stderr, "AlreadyExists") {
			return fmt.Errorf("creating the CRDs of %s: %w", f, err)
		}
		out, _, err := e.cp.Kubectl(ctx, "", "get", "-f", f, "-o", "name")
		if err != nil {
			return err
		}
		for _, crd := range strings.Fields(out) {
			err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, e.timeout, true, func(ctx context.Context) (bool, error) {
				_, _, err := e.cp.Kubectl(ctx, "", "wait", "--for=condition=Established", "--timeout=5s", crd)
				return err == nil, nil
			})
			if err != nil {
				return fmt.Errorf("%s is not Established: %w", crd, err)
			}
		}
	}
	return nil
}

// startServer starts pipelines-apiserver, registers its APIService and waits until it is
// Available.
func (e *Environment) startServer(ctx context.Context, binary, kubeconfig string, port int, extra []string) error {
	certs := e.cp.Certs()
	pool, err := loadCAPool(certs.ServingCA)
	if err != nil {
		return err
	}
	e.server = &apiServer{
		port:    port,
		binary:  binary,
		logFile: filepath.Join(e.dir, "server", serverName+".log"),
		caPool:  pool,
		args: func(port int) []string {
			args := []string{
				"--bind-address=127.0.0.1",
				fmt.Sprintf("--secure-port=%d", port),
				"--tls-cert-file=" + certs.ServingCert,
				"--tls-private-key-file=" + certs.ServingKey,
				// As in a cluster: the front-proxy CA comes from kube-system's
				// extension-apiserver-authentication ConfigMap, read with this identity.
				"--kubeconfig=" + kubeconfig,
				"--authentication-kubeconfig=" + kubeconfig,
				"--authorization-kubeconfig=" + kubeconfig,
				"--mysql-host=127.0.0.1",
				fmt.Sprintf("--mysql-port=%d", e.db.port),
				"--mysql-user=" + DatabaseUser,
				"--mysql-password-file=" + e.db.passwordFile(),
				"--mysql-database=" + DatabaseName,
				"--v=2",
			}
			return append(args, extra...)
		},
	}
	begin := time.Now()
	if err := e.server.start(ctx, e.timeout); err != nil {
		return err
	}
	e.logger.Info("pipelines-apiserver ready", "url", e.server.url(), "log", e.server.logFile, "elapsed", since(begin))
	return e.registerAPIService(ctx)
}

func (e *Environment) registerAPIService(ctx context.Context) error {
	if err := e.cp.RegisterAPIService(ctx, Group, Version, e.server.port, nil); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if err := e.cp.WaitAPIServiceAvailable(ctx, controlplane.APIServiceName(Group, Version)); err != nil {
		return fmt.Errorf("%w; last lines of %s:\n%s", err, e.server.logFile, e.server.proc.logTail(logTailLines))
	}
	return e.waitDiscovery(ctx)
}

// waitDiscovery waits until kube-apiserver serves the group's discovery document, that is
// it proxies to the server again, and the group's OpenAPI v3 document, which it fetches from
// the server some time after the APIService becomes Available (kubectl explain needs it).
func (e *Environment) waitDiscovery(ctx context.Context) error {
	var last error
	openAPIPath := "/openapi/v3/apis/" + Group + "/" + Version
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, e.timeout, true, func(ctx context.Context) (bool, error) {
		discovery := e.cp.Client().Discovery()
		if _, last = discovery.ServerResourcesForGroupVersion(Group + "/" + Version); last != nil {
			return false, nil
		}
		if _, last = discovery.RESTClient().Get().AbsPath(openAPIPath).DoRaw(ctx); last != nil {
			last = fmt.Errorf("GET %s: %w", openAPIPath, last)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("discovery of %s/%s through kube-apiserver: %v: %w", Group, Version, last, err)
	}
	return nil
}

// waitTeamsAuthorized waits until the ClusterRole aggregation has put the pipelines rules
// into edit, so that the users' first requests are not refused.
func (e *Environment) waitTeamsAuthorized(ctx context.Context) error {
	for _, team := range Teams {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: team.User,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: team.Namespace, Verb: "create", Group: Group, Resource: "runs",
			},
		}}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, e.timeout, true, func(ctx context.Context) (bool, error) {
			resp, err := e.cp.Client().AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			return err == nil && resp.Status.Allowed, nil
		})
		if err != nil {
			return fmt.Errorf("%s may not create runs in %s (ClusterRole aggregation into edit): %w", team.User, team.Namespace, err)
		}
	}
	return nil
}

// writeKubeconfig writes Dir/kubeconfig with the contexts admin, alice and bob; each user's
// context defaults to its namespace. It is rewritten on every Start, as kube-apiserver's port
// changes.
func (e *Environment) writeKubeconfig() error {
	admin, err := clientcmd.LoadFromFile(e.cp.AdminKubeconfig())
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	for name, cluster := range admin.Clusters {
		cfg.Clusters[name] = cluster
	}
	addUser := func(path, user, namespace string) error {
		from, err := clientcmd.LoadFromFile(path)
		if err != nil {
			return err
		}
		ctx, ok := from.Contexts[from.CurrentContext]
		if !ok {
			return fmt.Errorf("kubeconfig %s has no current context", path)
		}
		cfg.AuthInfos[user] = from.AuthInfos[ctx.AuthInfo]
		cfg.Contexts[user] = &clientcmdapi.Context{Cluster: ctx.Cluster, AuthInfo: user, Namespace: namespace}
		return nil
	}
	if err := addUser(e.cp.AdminKubeconfig(), AdminUser, "default"); err != nil {
		return err
	}
	for _, team := range Teams {
		if err := addUser(e.UserKubeconfig(team.User), team.User, team.Namespace); err != nil {
			return err
		}
	}
	cfg.CurrentContext = AdminUser
	e.kubeconfig = filepath.Join(e.dir, "kubeconfig")
	return clientcmd.WriteToFile(*cfg, e.kubeconfig)
}

// Stop stops the server, MariaDB and the control plane, in that order, and removes a
// temporary Dir. It is safe to call more than once.
func (e *Environment) Stop() error {
	e.stopOnce.Do(func() {
		var errs []error
		for _, r := range e.replicas {
			errs = append(errs, r.stop())
		}
		if e.server != nil {
			errs = append(errs, e.server.stop())
		}
		if e.db != nil {
			errs = append(errs, e.db.stop())
		}
		if e.cp != nil {
			errs = append(errs, e.cp.Stop())
		}
		if e.lock != nil {
			errs = append(errs, e.lock.Close())
		}
		if e.removeDir {
			errs = append(errs, os.RemoveAll(e.dir))
		}
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// RestartServer stops pipelines-apiserver and starts it again on the same port with the same
// flags, and waits until kube-apiserver reaches it.
func (e *Environment) RestartServer(ctx context.Context, mode StopMode) error {
	e.restartMu.Lock()
	defer e.restartMu.Unlock()
	if err := stopWith(e.server.proc, mode, serverStopGrace); err != nil {
		return err
	}
	if err := e.server.start(ctx, e.timeout); err != nil {
		return err
	}
	return e.registerAPIService(ctx)
}

// Replica is another pipelines-apiserver process on the same database, as a second
// replica of a Deployment would be. kube-apiserver does not route to it: the APIService
// points at the first server only.
type Replica struct {
	s *apiServer
}

// StartReplica starts another server with the first one's flags on a port of its own and
// waits until it is ready. Stop stops it, if the test did not.
func (e *Environment) StartReplica(ctx context.Context) (*Replica, error) {
	e.restartMu.Lock()
	defer e.restartMu.Unlock()
	r := *e.server
	r.port, r.proc = 0, nil
	r.logFile = filepath.Join(e.dir, "server", fmt.Sprintf("%s-%d.log", serverName, len(e.replicas)+2))
	if err := r.start(ctx, e.timeout); err != nil {
		return nil, err
	}
	e.replicas = append(e.replicas, &r)
	return &Replica{s: &r}, nil
}

// Stop stops the replica as mode says.
func (r *Replica) Stop(mode StopMode) error { return stopWith(r.s.proc, mode, serverStopGrace) }

// Log is the path of the replica's log.
func (r *Replica) Log() string { return r.s.logFile }

// URL is where the replica serves, directly rather than through kube-apiserver. Its
// serving certificate is signed by ControlPlane().Certs().ServingCA.
func (r *Replica) URL() string { return r.s.url() }

// StopServer stops the first server (the one behind the APIService) as mode says, until
// StartServer starts it again.
func (e *Environment) StopServer(mode StopMode) error {
	e.restartMu.Lock()
	defer e.restartMu.Unlock()
	return stopWith(e.server.proc, mode, serverStopGrace)
}

// StartServer starts the first server again after StopServer, on the same port, and waits
// until kube-apiserver reaches it.
func (e *Environment) StartServer(ctx context.Context) error {
	e.restartMu.Lock()
	defer e.restartMu.Unlock()
	if err := e.server.start(ctx, e.timeout); err != nil {
		return err
	}
	return e.registerAPIService(ctx)
}

// RestartDatabase stops MariaDB and starts it again on the same port and data, while the
// server keeps running, and waits until the server's /readyz passes again.
func (e *Environment) RestartDatabase(ctx context.Context, mode StopMode) error {
	e.restartMu.Lock()
	defer e.restartMu.Unlock()
	if err := stopWith(e.db.proc, mode, mariaDBStopGrace); err != nil {
		return err
	}
	if err := e.db.start(ctx, e.timeout); err != nil {
		return err
	}
	return waitReady(ctx, e.server.proc, e.timeout, e.server.ready)
}

func stopWith(p *process, mode StopMode, grace time.Duration) error {
	if mode == Kill {
		p.kill()
		return nil
	}
	return p.stop(grace)
}

// Dir is the environment's directory.
func (e *Environment) Dir() string { return e.dir }

// Kubeconfig is the path of a kubeconfig with the contexts admin (current), alice and bob.
func (e *Environment) Kubeconfig() string { return e.kubeconfig }

// UserKubeconfig is the path of a kubeconfig for one user only (alice, bob, or admin).
func (e *Environment) UserKubeconfig(user string) string {
	if user == AdminUser {
		return e.cp.AdminKubeconfig()
	}
	return filepath.Join(e.cp.Dir(), "users", user+".kubeconfig")
}

// RESTConfig returns a client configuration for a context of Kubeconfig: admin, alice or bob.
func (e *Environment) RESTConfig(user string) (*rest.Config, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: e.kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: user},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("client configuration for %s: %w", user, err)
	}
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	return cfg, nil
}

// Kubectl runs the real kubectl (v1.37, from the control plane's BinDir) as user (a context of
// Kubeconfig; empty means admin). A failing kubectl yields a *controlplane.KubectlError.
func (e *Environment) Kubectl(ctx context.Context, user string, args ...string) (stdout, stderr string, err error) {
	if user == "" {
		user = AdminUser
	}
	return e.cp.Kubectl(ctx, e.kubeconfig, append([]string{"--context=" + user}, args...)...)
}

// ControlPlane is the running etcd and kube-apiserver.
func (e *Environment) ControlPlane() *controlplane.ControlPlane { return e.cp }

// KubectlPath is the kubectl binary Kubectl runs.
func (e *Environment) KubectlPath() string { return filepath.Join(e.cp.BinDir(), "kubectl") }

// ServerURL is pipelines-apiserver's own address, https://127.0.0.1:<port>.
func (e *Environment) ServerURL() string { return e.server.url() }

// ServerExited is closed when the current pipelines-apiserver process exits; the error
// says how, with the end of its log. A restart starts a new process with a new channel.
func (e *Environment) ServerExited() (<-chan struct{}, func() error) {
	p := e.server.proc
	return p.done, p.exitError
}

// ServerLog is the path of pipelines-apiserver's log; restarts append to it.
func (e *Environment) ServerLog() string { return e.server.logFile }

// DatabaseDSN is a go-sql-driver DSN for the server's database, for tests that look at rows.
func (e *Environment) DatabaseDSN() (string, error) { return e.db.dsn() }

// LogTails returns the last n lines of the logs of pipelines-apiserver, MariaDB and
// kube-apiserver.
func (e *Environment) LogTails(n int) string {
	var b strings.Builder
	for _, f := range e.logFiles() {
		fmt.Fprintf(&b, "----- last %d lines of %s\n%s\n", n, f, fileTail(f, 0, n))
	}
	return b.String()
}

// Problems returns the last n warnings and errors in the logs of pipelines-apiserver,
// MariaDB and kube-apiserver, each with the lines that continue it (a panic's stack, cut
// short), for a failing test to show without the noise of a verbose log.
func (e *Environment) Problems(n int) string {
	var b strings.Builder
	for _, f := range e.logFiles() {
		records := problems(fileTail(f, 0, 5000), n)
		if len(records) == 0 {
			continue
		}
		fmt.Fprintf(&b, "----- last %d warnings and errors in %s\n%s\n", len(records), f, strings.Join(records, "\n"))
	}
	return b.String()
}

func (e *Environment) logFiles() []string {
	var logs []string
	if e.server != nil {
		logs = append(logs, e.server.logFile)
	}
	for _, r := range e.replicas {
		logs = append(logs, r.logFile)
	}
	if e.db != nil {
		logs = append(logs, e.db.logFile())
	}
	if e.cp != nil {
		logs = append(logs, filepath.Join(e.cp.LogDir(), "kube-apiserver.log"))
		if e.execution {
			for _, name := range []string{"workflow-controller", "kwok", "kube-scheduler", "kube-controller-manager"} {
				logs = append(logs, filepath.Join(e.cp.LogDir(), name+".log"))
			}
		}
	}
	return logs
}

// problems splits a log into records (a line and the indented lines after it) and returns
// the last n that are klog warnings or errors ("W1123 ...", "E1123 ...") or MariaDB's
// ("[Warning]", "[ERROR]"), each cut to a few lines.
func problems(log string, n int) []string {
	const maxLines = 12
	var records []string
	var cur []string
	flush := func() {
		if len(cur) == 0 {
			return
		}
		first := cur[0]
		klogProblem := len(first) > 5 && strings.ContainsRune("WEF", rune(first[0])) && first[1] >= '0' && first[1] <= '9'
		if klogProblem || strings.Contains(first, "[ERROR]") || strings.Contains(first, "[Warning]") {
			if len(cur) > maxLines {
				cur = append(cur[:maxLines], fmt.Sprintf("\t... %d more lines", len(cur)-maxLines))
			}
			records = append(records, strings.Join(cur, "\n"))
		}
		cur = nil
	}
	for _, line := range strings.Split(log, "\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t' || line[0] == '>') {
			cur = append(cur, line)
			continue
		}
		flush()
		cur = []string{line}
	}
	flush()
	if len(records) > n {
		records = records[len(records)-n:]
	}
	return records
}

// waitReady polls check until it passes, the process exits, timeout passes or ctx ends.
func waitReady(ctx context.Context, p *process, timeout time.Duration, check func(context.Context) (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
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
				p.name, last, ctx.Err(), p.logFile, p.logTail(logTailLines))
		case <-tick.C:
		}
	}
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago; start-up retries with
// another one when a child fails with "address already in use".
// reservedPort is a port free now and outside the kernel's ephemeral range, so that no
// outgoing connection takes it before a server listens on it later.
func reservedPort() (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const from = 10000
	if low <= from+100 {
		return freePort()
	}
	for range 100 {
		port := from + rand.IntN(low-from)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			_ = l.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port between %d and %d", from, low)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
