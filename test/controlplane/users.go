package controlplane

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	clusterName = "pipelines-local"
	// Clients of a local control plane issue bursts (discovery, test set-up); the client-go
	// default of 5 QPS would throttle them.
	clientQPS   = 50
	clientBurst = 100
)

// NewUser issues a client certificate for CN=name, O=groups signed by the cluster CA and
// writes a kubeconfig using it to Dir/users/<name>.kubeconfig, whose path it returns. The user
// has no rights until a RoleBinding or ClusterRoleBinding grants some. Calling it again for
// the same name issues a new certificate with the groups given.
func (c *ControlPlane) NewUser(ctx context.Context, name string, groups ...string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("creating user %q: %w", name, err)
	}
	if name == "" {
		return "", fmt.Errorf("creating user: empty name")
	}
	ca, err := loadKeyPair(c.certs.ClusterCA, c.certs.ClusterCAKey)
	if err != nil {
		return "", fmt.Errorf("creating user %q: %w", name, err)
	}
	base := filepath.Join(c.dir, "users", fileName(name))
	spec := leafSpec{
		certFile: base + ".crt", keyFile: base + ".key",
		commonName: name, organizations: groups,
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if err := issueLeaf(ca, spec); err != nil {
		return "", fmt.Errorf("creating user %q: %w", name, err)
	}
	kubeconfig := base + ".kubeconfig"
	if err := c.writeKubeconfig(kubeconfig, name, spec.certFile, spec.keyFile); err != nil {
		return "", fmt.Errorf("creating user %q: %w", name, err)
	}
	return kubeconfig, nil
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// fileName turns a user name such as "system:serviceaccount:a:b" or "alice@example.com"
// into a file name.
func fileName(name string) string { return unsafeFileChars.ReplaceAllString(name, "_") }

// writeKubeconfig writes a kubeconfig for the current server URL with the CA and client
// certificate embedded, so that it keeps working when copied elsewhere.
func (c *ControlPlane) writeKubeconfig(path, user, certFile, keyFile string) error {
	caData, err := os.ReadFile(c.certs.ClusterCA)
	if err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	certData, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	keyData, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: c.serverURL, CertificateAuthorityData: caData}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certData, ClientKeyData: keyData}
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user}
	cfg.CurrentContext = user
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

// writeAdminKubeconfig writes Dir/admin.kubeconfig for the current server URL and builds the
// admin clients from it.
func (c *ControlPlane) writeAdminKubeconfig() error {
	path := filepath.Join(c.dir, "admin.kubeconfig")
	if err := c.writeKubeconfig(path, "admin", c.certs.AdminCert, c.certs.AdminKey); err != nil {
		return err
	}
	cfg, err := RESTConfig(path)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	c.adminKubeconfig, c.adminConfig, c.client, c.dynamic = path, cfg, client, dyn
	return nil
}

// rewriteUserKubeconfigs points the kubeconfigs of users created in an earlier run of the same
// Dir at the new server URL; their certificates stay valid, as the CA is kept.
func (c *ControlPlane) rewriteUserKubeconfigs() error {
	paths, err := filepath.Glob(filepath.Join(c.dir, "users", "*.kubeconfig"))
	if err != nil {
		return fmt.Errorf("listing user kubeconfigs: %w", err)
	}
	for _, path := range paths {
		cfg, err := clientcmd.LoadFromFile(path)
		if err != nil {
			return fmt.Errorf("updating kubeconfig: %w", err)
		}
		cluster, ok := cfg.Clusters[clusterName]
		if !ok || cluster.Server == c.serverURL {
			continue
		}
		cluster.Server = c.serverURL
		if err := clientcmd.WriteToFile(*cfg, path); err != nil {
			return fmt.Errorf("updating kubeconfig %s: %w", path, err)
		}
	}
	return nil
}

// RESTConfig loads a kubeconfig (such as one NewUser wrote) into a client configuration.
func RESTConfig(kubeconfigPath string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", kubeconfigPath, err)
	}
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	return cfg, nil
}
