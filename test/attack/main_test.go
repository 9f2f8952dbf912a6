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

// Package attack tries every request a hostile tenant can make (issue 13): users of team-b,
// with real client certificates through the real kube-apiserver, send every verb on every
// resource and subresource of team-a and team-b, with every field that names something
// elsewhere pointed at team-a. What each case may do is not listed by hand: it is asked of
// RBAC with `kubectl auth can-i` as that user. After each case team-a is read back
// unchanged, and nothing anywhere runs team-a's pipeline.
//
// One environment (MariaDB, etcd, kube-apiserver with Argo's Workflow CRD, the server with
// its controllers) serves the package; the cases run in parallel, each on objects of its
// own in team-b, so no case resets state for another.
package attack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// argoCRD is Argo's Workflow CRD in the shared test data beside the repository (always
// there in CI): with it the executor creates Workflows, which the test checks too.
var argoCRD = filepath.Join("..", "..", "..", "shared", "testdata", "argo", "workflows-crd-full.yaml")

const (
	teamA = "team-a"
	teamB = "team-b"
	// Attackers. bob is bound to edit in team-b by the framework; vera (view) and olga
	// (admin) are bound here. None has any right in team-a.
	bob  = "bob"
	vera = "vera"
	olga = "olga"
)

var (
	env    *framework.Environment
	envErr error
	// kubeconfigs of the attackers: each user's own, holding only its certificate.
	kubeconfigs = map[string]string{}
)

func TestMain(m *testing.M) {
	flag.Parse()
	_, statErr := os.Stat(argoCRD)
	switch {
	case testing.Short():
		envErr = errors.New("-short: the attack tests start MariaDB, etcd, kube-apiserver and the server")
	case statErr != nil:
		envErr = &framework.MissingDependencyError{Msg: fmt.Sprintf("Argo's full Workflow CRD: %v", statErr),
			Fix: "the shared test data must sit beside the repository, as in CI"}
	default:
		envErr = start()
	}
	code := m.Run()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the environment: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var err error
	// Controllers on: a reference that slipped through would reach the executor and the
	// scheduler, and show as a Workflow or a run.
	if env, err = framework.Start(ctx, framework.Config{CRDs: []string{argoCRD}}); err != nil {
		return err
	}
	cp := env.ControlPlane()
	kubeconfigs[bob] = env.UserKubeconfig(bob)
	for user, role := range map[string]string{vera: "view", olga: "admin"} {
		if kubeconfigs[user], err = cp.NewUser(ctx, user); err != nil {
			return err
		}
		binding := rbacv1ac.RoleBinding(user+"-"+role, teamB).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("ClusterRole").WithName(role)).
			WithSubjects(rbacv1ac.Subject().WithAPIGroup("rbac.authorization.k8s.io").WithKind("User").WithName(user))
		if _, err := cp.Client().RbacV1().RoleBindings(teamB).Apply(ctx, binding,
			metav1.ApplyOptions{FieldManager: "attack-test", Force: true}); err != nil {
			return fmt.Errorf("binding %s to %s in %s: %w", user, role, teamB, err)
		}
	}
	klog.InfoS("Attack tests ready", "attackers", []string{bob, vera, olga})
	return nil
}

func setup(t *testing.T) *framework.Environment {
	t.Helper()
	return framework.Use(t, env, envErr)
}
