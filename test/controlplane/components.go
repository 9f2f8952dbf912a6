package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The optional components Config asks for. Each runs as a child process with the admin
// kubeconfig and logs to LogDir()/<name>.log.
const (
	controllerManagerName = "kube-controller-manager"
	schedulerName         = "kube-scheduler"
	kwokName              = "kwok"
)

// controllerManagerControllers are the controllers kube-controller-manager runs here: what
// runs of pipelines need (default service accounts, namespace deletion, the root CA ConfigMap
// that pods' token volumes mount), the aggregation of ClusterRoles, and the garbage collector,
// which deletes a run's workflow when the run goes and keeps watches open on every resource
// of the aggregated server, as in every cluster.
var controllerManagerControllers = []string{
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"namespace-controller",
	"clusterrole-aggregation-controller",
	"root-ca-certificate-publisher-controller",
	"garbage-collector-controller",
}

// kwokStages is kwok's configuration: how the simulated node and its pods change. See the
// comments in the file for the annotation that decides how a pod ends.
//
//go:embed kwok-stages.yaml
var kwokStages []byte

// PodOutcomeAnnotation decides how kwok ends a pod on the simulated node: absent or
// "Succeeded", its containers exit 0 about a second after it started; "Failed", its container
// "main" exits 1; "Running", it keeps running until the annotation changes; "Process", it
// keeps running for test/processkubelet, the stand-in kubelet that runs the main container as a
// host process and ends the pod (as it does the pods of KFP 2.x tasks, whatever the annotation). Argo copies a
// template's metadata.annotations onto its pods, so a pipeline (or a run's parameter, through
// "{{workflow.parameters.x}}") can say how its steps end; a test can also annotate a pod.
const PodOutcomeAnnotation = "kwok.pipelines.kubeflow.org/outcome"

// startControllerManager runs kube-controller-manager with the controllers listed above,
// signing service-account tokens with the key kube-apiserver verifies them with.
func (c *ControlPlane) startControllerManager(ctx context.Context, timeout time.Duration) error {
	certDir := filepath.Join(c.dir, "pki", controllerManagerName)
	return c.startServing(ctx, timeout, controllerManagerName, certDir, func(port int) []string {
		return []string{
			"--kubeconfig=" + c.adminKubeconfig,
			"--authentication-kubeconfig=" + c.adminKubeconfig,
			"--authorization-kubeconfig=" + c.adminKubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--cert-dir=" + certDir,
			"--controllers=" + strings.Join(controllerManagerControllers, ","),
			"--service-account-private-key-file=" + c.certs.ServiceAccountKey,
			"--root-ca-file=" + c.certs.ClusterCA,
			"--use-service-account-credentials=false",
			"--leader-elect=false",
			"--profiling=false",
		}
	})
}

// startScheduler runs kube-scheduler: without it, pods (Argo's step pods) are never bound to
// the simulated node.
func (c *ControlPlane) startScheduler(ctx context.Context, timeout time.Duration) error {
	certDir := filepath.Join(c.dir, "pki", schedulerName)
	return c.startServing(ctx, timeout, schedulerName, certDir, func(port int) []string {
		return []string{
			"--kubeconfig=" + c.adminKubeconfig,
			"--authentication-kubeconfig=" + c.adminKubeconfig,
			"--authorization-kubeconfig=" + c.adminKubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--cert-dir=" + certDir,
			"--leader-elect=false",
			"--profiling=false",
		}
	})
}

// startServing starts a component that serves /healthz over HTTPS on a port of its own with a
// self-signed certificate it writes to certDir, and waits until /healthz passes.
func (c *ControlPlane) startServing(ctx context.Context, timeout time.Duration, name, certDir string, args func(port int) []string) error {
	binary := filepath.Join(c.binDir, name)
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s missing in %s (run %s): %w", name, c.binDir, buildScript, err)
	}
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		p, err := startProcess(c.logger, name, binary, logPath(c.dir, name), args(ports[0]))
		if err != nil {
			return err
		}
		c.components = append(c.components, p)
		url := "https://127.0.0.1:" + strconv.Itoa(ports[0]) + "/healthz"
		err = waitReady(ctx, p, timeout, func(ctx context.Context) (bool, string) {
			return selfSignedHealthy(ctx, url, filepath.Join(certDir, name+".crt"))
		})
		if err == nil {
			c.logger.V(1).Info("Component ready", "name", name, "healthz", url)
			return nil
		}
		if p.exited() && p.addressInUse() && attempt < startAttempts {
			c.logger.Info("Port taken, retrying with another port", "name", name, "attempt", attempt)
			continue
		}
		return err
	}
}

// selfSignedHealthy asks url for /healthz, trusting only the self-signed certificate the
// component wrote to certFile.
func selfSignedHealthy(ctx context.Context, url, certFile string) (bool, string) {
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return false, err.Error()
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return false, "no certificate in " + certFile
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12},
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK, resp.Status
}

// startKwok registers the node kwok simulates and starts kwok for it and its pods, and waits
// until the node is Ready.
func (c *ControlPlane) startKwok(ctx context.Context, timeout time.Duration, node string) error {
	binary := filepath.Join(c.binDir, kwokName)
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s missing in %s (run %s): %w", kwokName, c.binDir, buildScript, err)
	}
	_, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:   node,
		Labels: map[string]string{"type": "kwok", corev1.LabelHostname: node},
	}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("registering node %s: %w", node, err)
	}
	stages := filepath.Join(c.dir, "kwok.yaml")
	if err := os.WriteFile(stages, kwokStages, 0o600); err != nil {
		return fmt.Errorf("writing kwok's configuration: %w", err)
	}
	p, err := startProcess(c.logger, kwokName, binary, logPath(c.dir, kwokName), []string{
		"--kubeconfig=" + c.adminKubeconfig,
		"--config=" + stages,
		"--manage-single-node=" + node,
		"--node-ip=127.0.0.1",
		"--cidr=10.244.0.0/16",
	})
	if err != nil {
		return err
	}
	c.components = append(c.components, p)
	err = waitReady(ctx, p, timeout, func(ctx context.Context) (bool, string) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, "node Ready is " + string(cond.Status)
			}
		}
		return false, "node has no Ready condition yet"
	})
	if err != nil {
		return err
	}
	// kube-apiserver taints a new node not-ready; kube-controller-manager's node lifecycle
	// controller lifts the taint once the node is Ready. That controller does not run here: it
	// would also evict pods from nodes whose kubelet sends no heartbeats.
	n, err := c.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	taints := slices.DeleteFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady })
	if len(taints) != len(n.Spec.Taints) {
		n.Spec.Taints = taints
		if _, err := c.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("lifting the not-ready taint of node %s: %w", node, err)
		}
	}
	c.logger.V(1).Info("kwok ready", "node", node)
	return nil
}
