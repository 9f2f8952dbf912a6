// Command local-up is `make run`: it starts MariaDB, etcd, kube-apiserver and
// pipelines-apiserver on loopback (test/framework) and, with --execution, what carries runs
// out: Argo Workflows' workflow controller, kube-controller-manager, kube-scheduler and kwok
// simulating a node (no container runs; steps succeed). It prints how to reach them with
// kubectl and runs until SIGINT or SIGTERM, then stops everything in order. Its state
// (database, etcd data, certificates, kubeconfig, logs) lives in --dir, so a second run finds
// what the first one created.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/minio/minio-go/v7"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	runctl "github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/s3server"
)

// demo is created in team-a on the first run, so that `kubectl get runs -n team-a` has
// something to show.
const demo = `apiVersion: pipelines.kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: demo
spec:
  displayName: Demo
  description: Created by make run.
---
apiVersion: pipelines.kubeflow.org/v1beta1
kind: Pipeline
metadata:
  name: hello
spec:
  displayName: Hello world
---
apiVersion: pipelines.kubeflow.org/v1beta1
kind: PipelineVersion
metadata:
  name: hello-v1
spec:
  pipelineName: hello
  workflow:
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata:
      generateName: hello-
    spec:
      entrypoint: say
      arguments:
        parameters:
        - name: message
          value: hello world
      templates:
      - name: say
        inputs:
          parameters:
          - name: message
        container:
          image: busybox
          command: [echo, "{{inputs.parameters.message}}"]
---
apiVersion: pipelines.kubeflow.org/v1beta1
kind: Run
metadata:
  name: hello-1
spec:
  experimentName: demo
  pipelineRef:
    pipelineName: hello
  parameters:
  - name: message
    value: hi from make run
`

var banner = template.Must(template.New("banner").Parse(`
pipelines-apiserver is running. In another terminal:

    export KUBECONFIG={{.Kubeconfig}}
    export PATH={{.BinDir}}:$PATH    # kubectl {{"v1.37"}}, optional

    kubectl api-resources --api-group=pipelines.kubeflow.org
    kubectl --context=alice get kfp            # alice edits team-a
    kubectl --context=alice get runs           # the demo run hello-1{{if .Execution}} reaches Succeeded{{end}}
    kubectl --context=bob get runs -n team-a   # Forbidden: bob edits team-b only
    kubectl explain runs.spec

Contexts: admin (current), alice (team-a), bob (team-b).
Logs:     {{.ServerLog}}
State:    {{.Dir}} (kept; delete it to start afresh)
Press Ctrl-C to stop.
`))

func main() {
	klog.InitFlags(nil)
	dir := flag.String("dir", "", "directory for the database, etcd, certificates, kubeconfig and logs (default $PIPELINES_LOCAL_DIR, else .local in the repository)")
	var crds stringList
	flag.Var(&crds, "crd", "a CustomResourceDefinition manifest or directory of them to create before the server starts, such as Argo's CRDs, so that runs execute (repeatable)")
	execution := flag.Bool("execution", false, "run Argo's workflow controller, kube-controller-manager, kube-scheduler and kwok, so that runs run (needs all of Argo's CRDs in --crd)")
	flag.Parse()
	if err := run(*dir, crds, *execution); err != nil {
		fmt.Fprintf(os.Stderr, "make run: %v\n", err)
		os.Exit(1)
	}
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func run(dir string, crds []string, execution bool) error {
	if dir == "" {
		dir = os.Getenv("PIPELINES_LOCAL_DIR")
	}
	if dir == "" {
		dir = ".local"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env, err := framework.Start(ctx, framework.Config{Dir: dir, CRDs: crds, Execution: execution})
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted while starting")
		}
		return err
	}
	defer func() {
		klog.InfoS("Stopping")
		if err := env.Stop(); err != nil {
			klog.ErrorS(err, "Stopping the environment")
			return
		}
		klog.InfoS("Stopped; make run again reuses the data", "dir", env.Dir())
	}()
	if err := seed(ctx, env); err != nil {
		// The environment works without the demo objects.
		klog.ErrorS(err, "Creating the demo objects")
	}
	store, err := startStore(ctx, env)
	if err != nil {
		// Only pipelines that pass artifacts need it.
		klog.ErrorS(err, "Starting SeaweedFS: the teams have no artifact store")
	} else {
		defer func() {
			if err := store.Stop(); err != nil {
				klog.ErrorS(err, "Stopping SeaweedFS")
			}
		}()
	}
	err = banner.Execute(os.Stdout, map[string]any{
		"Kubeconfig": env.Kubeconfig(),
		"BinDir":     filepath.Dir(env.KubectlPath()),
		"ServerLog":  env.ServerLog(),
		"Dir":        env.Dir(),
		"Execution":  execution,
	})
	if err != nil {
		return err
	}
	if execution {
		go reportDemoRun(ctx, env)
	}
	exited, exitErr := env.ServerExited()
	select {
	case <-ctx.Done():
		// A second Ctrl-C kills at once; the children die with this process.
		stop()
		return nil
	case <-exited:
		return exitErr()
	}
}

// storeBucket is the bucket of make run's object store that holds the teams' artifacts,
// each team's under its namespace.
const storeBucket = "pipelines"

// storeConfig is a team's artifact-store configuration (docs/artifacts.md).
var storeConfig = template.Must(template.New("store").Parse(`apiVersion: v1
kind: ConfigMap
metadata:
  name: {{.Name}}
data:
  pipelineRoot: s3://{{.Bucket}}/{{.Namespace}}
  endpoint: {{.Endpoint}}
  region: {{.Region}}
  insecure: "true"
---
apiVersion: v1
kind: Secret
metadata:
  name: {{.Name}}
stringData:
  accessKey: {{.AccessKey}}
  secretKey: {{.SecretKey}}
`))

// startStore starts SeaweedFS's S3 gateway with its data in the environment's directory,
// creates the bucket and has each team write the ConfigMap and Secret that give its
// namespace's pipeline pods the store. Runs' pods do not run here (kwok simulates them);
// the store is there for processes on this machine, such as the launcher run by hand.
func startStore(ctx context.Context, env *framework.Environment) (*s3server.Server, error) {
	binary, err := s3server.FindBinary(ctx)
	if err != nil {
		return nil, err
	}
	store, err := s3server.Run(ctx, s3server.Config{Binary: binary, Dir: filepath.Join(env.Dir(), "seaweedfs")})
	if err != nil {
		return nil, err
	}
	if err := configureStore(ctx, env, store); err != nil {
		_ = store.Stop()
		return nil, err
	}
	klog.InfoS("Artifact store running", "endpoint", store.Endpoint, "bucket", storeBucket, "log", store.LogFile)
	return store, nil
}

func configureStore(ctx context.Context, env *framework.Environment, store *s3server.Server) error {
	c, err := store.Client()
	if err != nil {
		return err
	}
	if err := c.MakeBucket(ctx, storeBucket, minio.MakeBucketOptions{Region: store.Region}); err != nil {
		if code := minio.ToErrorResponse(err).Code; code != minio.BucketAlreadyOwnedByYou && code != minio.BucketAlreadyExists {
			return fmt.Errorf("creating bucket %s: %w", storeBucket, err)
		}
	}
	for _, team := range framework.Teams {
		var manifest strings.Builder
		err := storeConfig.Execute(&manifest, map[string]string{
			"Name": launcherspec.StoreConfig, "Bucket": storeBucket, "Namespace": team.Namespace,
			"Endpoint": store.Endpoint, "Region": store.Region, "AccessKey": store.AccessKey, "SecretKey": store.SecretKey,
		})
		if err != nil {
			return err
		}
		// As the team: the store is the namespace's own business, not the server's.
		// Server-side, so that no last-applied annotation repeats the Secret's keys.
		cmd := env.ControlPlane().KubectlCmd(ctx, env.Kubeconfig(), "--context="+team.User, "apply", "--server-side", "--force-conflicts",
			"--field-manager=make-run", "-n", team.Namespace, "-f", "-")
		cmd.Stdin = strings.NewReader(manifest.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("writing %s's artifact-store configuration: %w\n%s", team.Namespace, err, out)
		}
	}
	return nil
}

// seed creates the demo objects on the first run only: the user may delete them.
func seed(ctx context.Context, env *framework.Environment) error {
	marker := filepath.Join(env.Dir(), "seeded")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	// create, not apply: runs are immutable, and edit grants no patch on them.
	cmd := env.ControlPlane().KubectlCmd(ctx, env.Kubeconfig(), "--context=alice", "create", "-f", "-")
	cmd.Stdin = strings.NewReader(demo)
	out, err := cmd.CombinedOutput()
	if err != nil {
		// A run interrupted after some objects were created: those are fine.
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !strings.HasSuffix(line, " created") && !strings.Contains(line, "(AlreadyExists)") {
				return fmt.Errorf("creating the demo objects in team-a: %w\n%s", err, out)
			}
		}
	}
	return os.WriteFile(marker, nil, 0o600)
}

// reportDemoRun logs the phase the demo run reaches, so that the terminal shows that runs run.
func reportDemoRun(ctx context.Context, env *framework.Environment) {
	cfg, err := env.RESTConfig("alice")
	if err != nil {
		klog.ErrorS(err, "Following the demo run")
		return
	}
	c, err := versioned.NewForConfig(cfg)
	if err != nil {
		klog.ErrorS(err, "Following the demo run")
		return
	}
	var last v1beta1.RunPhase
	_ = wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		r, err := c.PipelinesV1beta1().Runs("team-a").Get(ctx, "hello-1", metav1.GetOptions{})
		if err != nil {
			return apierrors.IsNotFound(err), nil
		}
		if r.Status.Phase != last {
			last = r.Status.Phase
			klog.InfoS("Demo run", "run", "team-a/hello-1", "phase", last, "message", r.Status.Message)
		}
		return runctl.Finished(last), nil
	})
}
