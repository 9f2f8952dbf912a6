package controlplane

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

const (
	fieldManager = "pipelines-controlplane"
	// servicePortName names the Service port and the EndpointSlice port: the aggregator
	// matches them by name.
	servicePortName = "https"
	servicePort     = 443
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// APIServiceName is the name of the APIService for group and version: "<version>.<group>".
func APIServiceName(group, version string) string { return version + "." + group }

// RegisterAPIService makes kube-apiserver proxy group/version to an aggregated server
// listening on 127.0.0.1:port. It creates or updates (server-side apply):
//   - the namespace and a Service without selector (Config.ServiceNamespace/ServiceName,
//     port 443 named "https"),
//   - an EndpointSlice for that Service pointing at 127.0.0.1:port,
//   - the APIService "<version>.<group>" for that Service, with caBundle (Certs().ServingCA
//     when empty) to verify the aggregated server's certificate for
//     <ServiceName>.<ServiceNamespace>.svc (Certs().ServingCert is valid for it).
//
// Kubernetes forbids loopback addresses in IPv4 EndpointSlices (and Endpoints), so the
// EndpointSlice has addressType FQDN with the address "127.0.0.1"; with
// --enable-aggregator-routing the aggregator dials <address>:<port> of a ready endpoint
// whatever the address type.
func (c *ControlPlane) RegisterAPIService(ctx context.Context, group, version string, port int, caBundle []byte) error {
	if len(caBundle) == 0 {
		var err error
		if caBundle, err = c.certs.ServingCABundle(); err != nil {
			return err
		}
	}
	if err := c.EnsureNamespace(ctx, c.svcNamespace); err != nil {
		return err
	}
	apply := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}

	svc := corev1ac.Service(c.svcName, c.svcNamespace).WithSpec(corev1ac.ServiceSpec().
		WithType(corev1.ServiceTypeClusterIP).
		WithPorts(corev1ac.ServicePort().WithName(servicePortName).WithProtocol(corev1.ProtocolTCP).
			WithPort(servicePort).WithTargetPort(intstr.FromInt(port))))
	if _, err := c.client.CoreV1().Services(c.svcNamespace).Apply(ctx, svc, apply); err != nil {
		return fmt.Errorf("applying Service %s/%s: %w", c.svcNamespace, c.svcName, err)
	}

	slice := discoveryv1ac.EndpointSlice(c.svcName+"-local", c.svcNamespace).
		WithLabels(map[string]string{
			discoveryv1.LabelServiceName: c.svcName,
			discoveryv1.LabelManagedBy:   fieldManager,
		}).
		WithAddressType(discoveryv1.AddressTypeFQDN).
		WithEndpoints(discoveryv1ac.Endpoint().WithAddresses("127.0.0.1").
			WithConditions(discoveryv1ac.EndpointConditions().WithReady(true))).
		WithPorts(discoveryv1ac.EndpointPort().WithName(servicePortName).WithProtocol(corev1.ProtocolTCP).
			WithPort(int32(port)))
	// kube-apiserver warns that FQDN EndpointSlices are deprecated; this one is deliberate.
	quiet := c.AdminRESTConfig()
	quiet.WarningHandler = rest.NoWarnings{}
	quietClient, err := kubernetes.NewForConfig(quiet)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	if _, err := quietClient.DiscoveryV1().EndpointSlices(c.svcNamespace).Apply(ctx, slice, apply); err != nil {
		return fmt.Errorf("applying EndpointSlice for Service %s/%s: %w", c.svcNamespace, c.svcName, err)
	}

	name := APIServiceName(group, version)
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"group":   group,
			"version": version,
			"service": map[string]any{
				"namespace": c.svcNamespace,
				"name":      c.svcName,
				"port":      int64(servicePort),
			},
			"caBundle":             base64.StdEncoding.EncodeToString(caBundle),
			"groupPriorityMinimum": int64(1000),
			"versionPriority":      int64(15),
		},
	}}
	if _, err := c.dynamic.Resource(apiServiceGVR).Apply(ctx, name, apiService, apply); err != nil {
		return fmt.Errorf("applying APIService %s: %w", name, err)
	}
	return nil
}

// WaitAPIServiceAvailable waits until the APIService name ("<version>.<group>") reports
// Available=True, that is kube-apiserver reached the aggregated server's discovery endpoint.
// On timeout the error carries the last reason and message.
func (c *ControlPlane) WaitAPIServiceAvailable(ctx context.Context, name string) error {
	last := "not found"
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		obj, err := c.dynamic.Resource(apiServiceGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, cond := range conditions {
			m, ok := cond.(map[string]any)
			if !ok || m["type"] != "Available" {
				continue
			}
			if m["status"] == "True" {
				return true, nil
			}
			last = fmt.Sprintf("%v: %v", m["reason"], m["message"])
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("APIService %s not available (%s): %w", name, last, err)
	}
	return nil
}

// EnsureNamespace creates the namespace unless it exists.
func (c *ControlPlane) EnsureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// EnsureServiceAccount creates the namespace and the service account unless they exist.
// Without a controller-manager, namespaces do not get their "default" service account.
func (c *ControlPlane) EnsureServiceAccount(ctx context.Context, namespace, name string) error {
	if err := c.EnsureNamespace(ctx, namespace); err != nil {
		return err
	}
	sa := corev1ac.ServiceAccount(name, namespace)
	_, err := c.client.CoreV1().ServiceAccounts(namespace).Apply(ctx, sa, metav1.ApplyOptions{FieldManager: fieldManager})
	if err != nil {
		return fmt.Errorf("applying service account %s/%s: %w", namespace, name, err)
	}
	return nil
}

// ServiceAccountToken mints a one-hour token for the service account with the TokenRequest
// API, bound to the audiences given. Pass PipelinesAudience for a token the aggregated server
// accepts and kube-apiserver rejects; with none, kube-apiserver binds the token to its
// --api-audiences (ServiceAccountIssuer), which the aggregated server rejects.
func (c *ControlPlane) ServiceAccountToken(ctx context.Context, namespace, name string, audiences ...string) (string, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         audiences,
		ExpirationSeconds: ptr.To[int64](3600),
	}}
	resp, err := c.client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting token for service account %s/%s: %w", namespace, name, err)
	}
	return resp.Status.Token, nil
}
