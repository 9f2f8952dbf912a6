// Package artifacts checks the deployment manifests in artifacts/ against a real
// kube-apiserver of the pinned version.
package artifacts

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/klog/v2/ktesting"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
)

const dir = "../../artifacts"

// manifests returns every object in artifacts/*.yaml.
func manifests(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
		for {
			obj := &unstructured.Unstructured{}
			err := decoder.Decode(&obj.Object)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(obj.Object) == 0 {
				continue // an empty document
			}
			objs = append(objs, obj)
		}
		_ = f.Close()
	}
	return objs
}

// TestApplyDryRun applies every manifest with `kubectl apply --dry-run=server
// --validate=strict`: kube-apiserver decodes, defaults, validates and admits each object
// without storing it. A manifest with an unknown or misspelt field, a wrong API version or
// an invalid value fails.
func TestApplyDryRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	objs := manifests(t)

	cp, err := controlplane.Start(ctx, controlplane.Config{Logger: ktesting.NewLogger(t, ktesting.NewConfig())})
	if err != nil {
		t.Fatalf("starting control plane: %v", err)
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping control plane: %v", err)
		}
	}()
	// A dry run creates no namespace, and the objects inside one need it. --save-config, as
	// kubectl apply warns about objects it did not create.
	for _, obj := range objs {
		if obj.GetKind() == "Namespace" {
			if _, _, err := cp.Kubectl(ctx, "", "create", "namespace", obj.GetName(), "--save-config"); err != nil {
				t.Fatal(err)
			}
		}
	}

	stdout, stderr, err := cp.Kubectl(ctx, "", "apply", "--dry-run=server", "--validate=strict", "-f", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("kubectl warned:\n%s", stderr)
	}
	applied := strings.Count(stdout, "(server dry run)")
	if applied != len(objs) {
		t.Errorf("kubectl applied %d objects, the manifests hold %d:\n%s", applied, len(objs), stdout)
	}
	for _, obj := range objs {
		if !strings.Contains(stdout, "/"+obj.GetName()+" ") {
			t.Errorf("%s %s not applied:\n%s", obj.GetKind(), obj.GetName(), stdout)
		}
	}

	// The check above only means something if a bad manifest fails it.
	t.Run("unknown-field", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		manifest := "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\n  namespace: default\nspec:\n  prots: []\n"
		if err := os.WriteFile(bad, []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := cp.Kubectl(ctx, "", "apply", "--dry-run=server", "--validate=strict", "-f", bad)
		var kerr *controlplane.KubectlError
		if !errors.As(err, &kerr) || !strings.Contains(kerr.Stderr, `unknown field "spec.prots"`) {
			t.Errorf("a Service with an unknown field: %v", err)
		}
	})
}
