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

// Package apiserver wires the pipelines API group, its registry and the MySQL storage
// engine into a k8s.io/apiserver GenericAPIServer.
package apiserver

import (
	"context"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/actionauthz"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/install"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/retention"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

var (
	// Scheme holds the API group's types, internal and v1beta1.
	Scheme = runtime.NewScheme()
	// Codecs serializes them.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	install.Install(Scheme)
	// The generic server serves these unversioned types on every group.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// ExtraConfig is this server's own configuration.
type ExtraConfig struct {
	// Storage configures the MySQL engine; its Tables are filled by the registry.
	Storage mysqlstorage.Config
	// StoragePrefix is prepended to every storage key.
	StoragePrefix string
	// Controllers configures the run executor and the job scheduler; nil runs neither.
	Controllers *controller.Config
	// Retention is the runs' retention policy the controllers' leader applies, its
	// storage and clients filled in by New; nil applies none.
	Retention *retention.Config
	// Registry holds the cluster-wide rules the resources enforce.
	Registry registry.Options
}

// Config is the whole configuration.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	ExtraConfig   ExtraConfig
}

type completedConfig struct {
	GenericConfig genericapiserver.CompletedConfig
	ExtraConfig   *ExtraConfig
	// ClientConfig reaches kube-apiserver as this server (--kubeconfig).
	ClientConfig *restclient.Config
}

// CompletedConfig can only be made by Complete, so New always sees defaults filled in.
type CompletedConfig struct {
	*completedConfig
}

// Server is a running pipelines API server.
type Server struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
	Backend          *mysqlstorage.Backend
}

// Complete fills in defaults.
func (c *Config) Complete() CompletedConfig {
	c.ExtraConfig.Storage.Tables = registry.Tables()
	c.ExtraConfig.Storage.Complete()
	return CompletedConfig{&completedConfig{
		GenericConfig: c.GenericConfig.Complete(),
		ExtraConfig:   &c.ExtraConfig,
		ClientConfig:  c.GenericConfig.ClientConfig,
	}}
}

// New connects to the database and builds the server.
func (c CompletedConfig) New(ctx context.Context) (*Server, error) {
	backend, err := mysqlstorage.NewBackend(ctx, c.ExtraConfig.Storage)
	if err != nil {
		return nil, fmt.Errorf("opening the MySQL storage: %w", err)
	}
	s := &Server{Backend: backend}
	genericServer, err := c.GenericConfig.New("pipelines-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		_ = backend.Close()
		return nil, err
	}
	s.GenericAPIServer = genericServer
	if err := genericServer.AddReadyzChecks(healthz.NamedCheck("mysql", func(*http.Request) error {
		return backend.ReadinessCheck()
	})); err != nil {
		_ = backend.Close()
		return nil, err
	}

	getter := &mysqlstorage.RESTOptionsGetter{
		Backend:                 backend,
		Prefix:                  c.ExtraConfig.StoragePrefix,
		Codec:                   StorageCodec,
		EnableGarbageCollection: true,
		DeleteCollectionWorkers: 1,
	}
	// The server's own identity in the cluster (--kubeconfig) reads the pods behind runs/log.
	kube, err := kubernetes.NewForConfig(c.ClientConfig)
	if err != nil {
		_ = backend.Close()
		return nil, fmt.Errorf("a client for kube-apiserver: %w", err)
	}
	// Long-running requests end when shutdown begins, or the HTTP server's shutdown waits
	// for them until --request-timeout: watches by --shutdown-watch-termination-grace-period,
	// log follows here.
	stopping := make(chan struct{})
	if err := genericServer.AddPreShutdownHook("end-log-streams", func() error { close(stopping); return nil }); err != nil {
		_ = backend.Close()
		return nil, err
	}
	registryOptions := c.ExtraConfig.Registry
	registryOptions.Stopping = stopping
	storage, collector, err := registry.NewStorage(Scheme, getter, c.GenericConfig.Authorization.Authorizer, kube.CoreV1(), registryOptions)
	if err != nil {
		_ = backend.Close()
		return nil, err
	}
	// The group's own parameter codec decodes the query of runs/log into RunLogOptions.
	apiGroupInfo := genericapiserver.NewDefaultAPIGroupInfo(pipelines.GroupName, Scheme, runtime.NewParameterCodec(Scheme), Codecs)
	apiGroupInfo.VersionedResourcesStorageMap[v1beta1.SchemeGroupVersion.Version] = storage
	if err := genericServer.InstallAPIGroup(&apiGroupInfo); err != nil {
		_ = backend.Close()
		return nil, err
	}
	// kube-apiserver's authorization webhook for KFP's custom verbs. Behind this server's
	// authentication and authorization: RBAC grants its path to kube-apiserver only.
	genericServer.Handler.NonGoRestfulMux.Handle(actionauthz.Path,
		&actionauthz.Handler{Reviews: kube.AuthorizationV1().SubjectAccessReviews()})
	if c.ExtraConfig.Controllers != nil {
		cfg := *c.ExtraConfig.Controllers
		cfg.Sweep = collector.Sweep
		if c.ExtraConfig.Retention != nil {
			if cfg.Retain, err = newRetention(*c.ExtraConfig.Retention, storage, kube, c.ClientConfig); err != nil {
				_ = backend.Close()
				return nil, err
			}
		}
		if err := addControllers(genericServer, cfg, c.ClientConfig); err != nil {
			_ = backend.Close()
			return nil, err
		}
	}
	klog.InfoS("Serving API group", "group", pipelines.GroupName, "version", v1beta1.SchemeGroupVersion.Version,
		"resources", len(storage))
	return s, nil
}

// newRetention completes cfg with the runs' storage and clients of kube-apiserver (the
// namespaces' policies, the runs' workflows) and returns one batch of it.
func newRetention(cfg retention.Config, storage map[string]rest.Storage, kube kubernetes.Interface, kubeConfig *restclient.Config) (func(context.Context) error, error) {
	if err := registry.RunRetention(storage, &cfg); err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(kubeConfig)
	if err != nil {
		return nil, fmt.Errorf("a client for the runs' workflows: %w", err)
	}
	cfg.Namespaces, cfg.Kube = kube.CoreV1().Namespaces(), dyn
	r, err := retention.New(cfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		_, err := r.Run(ctx)
		return err
	}, nil
}
