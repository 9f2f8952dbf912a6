/*
Copyright 2026 The pipelines-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package controlplane

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// WebhookClientName is the user kube-apiserver authenticates as to an authorization
// webhook: a client certificate of the cluster CA. Grant it the webhook's path.
const WebhookClientName = "kube-apiserver-authorization-webhook"

// AuthorizationWebhook is a SubjectAccessReview webhook kube-apiserver consults after Node
// and RBAC, through a structured authorization configuration (--authorization-config).
type AuthorizationWebhook struct {
	// URL is the webhook's https URL; its serving certificate is Certs().ServingCert.
	URL string
	// MatchConditions are CEL expressions that a request must all meet to be sent to the
	// webhook.
	MatchConditions []string
}

// writeAuthorizationConfig writes Dir/authorization/config.yaml (Node, RBAC, then w, which
// fails open to no opinion) and the webhook's kubeconfig, and returns the config's path.
func (c *ControlPlane) writeAuthorizationConfig(w *AuthorizationWebhook) (string, error) {
	dir := filepath.Join(c.dir, "authorization")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	ca, err := loadKeyPair(c.certs.ClusterCA, c.certs.ClusterCAKey)
	if err != nil {
		return "", err
	}
	client := leafSpec{
		certFile: filepath.Join(dir, "client.crt"), keyFile: filepath.Join(dir, "client.key"),
		commonName: WebhookClientName, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if err := ensureLeaf(ca, client); err != nil {
		return "", err
	}
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["webhook"] = &clientcmdapi.Cluster{Server: w.URL, CertificateAuthority: c.certs.ServingCA}
	kubeconfig.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{ClientCertificate: client.certFile, ClientKey: client.keyFile}
	kubeconfig.Contexts["webhook"] = &clientcmdapi.Context{Cluster: "webhook", AuthInfo: "kube-apiserver"}
	kubeconfig.CurrentContext = "webhook"
	kubeconfigPath := filepath.Join(dir, "webhook.kubeconfig")
	if err := clientcmd.WriteToFile(*kubeconfig, kubeconfigPath); err != nil {
		return "", err
	}
	type expression struct {
		Expression string `json:"expression"`
	}
	conditions := []expression{}
	for _, e := range w.MatchConditions {
		conditions = append(conditions, expression{e})
	}
	// JSON is YAML: kube-apiserver reads either.
	cfg := map[string]any{
		"apiVersion": "apiserver.config.k8s.io/v1",
		"kind":       "AuthorizationConfiguration",
		"authorizers": []any{
			map[string]any{"type": "Node", "name": "node"},
			map[string]any{"type": "RBAC", "name": "rbac"},
			map[string]any{"type": "Webhook", "name": "pipelines-actions", "webhook": map[string]any{
				"timeout":                    "3s",
				"subjectAccessReviewVersion": "v1",
				"matchConditionSubjectAccessReviewVersion": "v1",
				// Unreachable or failing: RBAC's answer stands.
				"failurePolicy":             "NoOpinion",
				"authorizedTTL":             "10s",
				"unauthorizedTTL":           "10s",
				"cacheAuthorizedRequests":   true,
				"cacheUnauthorizedRequests": true,
				"connectionInfo":            map[string]any{"type": "KubeConfigFile", "kubeConfigFile": kubeconfigPath},
				"matchConditions":           conditions,
			}},
		},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing the authorization configuration: %w", err)
	}
	return path, nil
}
