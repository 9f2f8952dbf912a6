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

// Package server is the pipelines-apiserver command: its options and how they become
// a running server.
package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	netutils "k8s.io/utils/net"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apiserver"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/cmd/options"
	generatedopenapi "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/openapi"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

func init() {
	// --feature-gates knows the logging gates (ContextualLogging, ...) like every component's.
	utilruntime.Must(logsapi.AddFeatureGates(utilfeature.DefaultMutableFeatureGate))
}

// DefaultShutdownWatchTerminationGracePeriod is --shutdown-watch-termination-grace-period
// unless set. k8s.io/apiserver's default, zero, leaves watches open at shutdown, and its HTTP
// server then waits for them until --request-timeout (60 s) although kube-controller-manager's
// garbage collector always watches every resource: longer than the 30 s Kubernetes grants a
// pod to stop. With a grace period every watch is ended when the server stops accepting
// requests, at least 200 a second, and its client watches again through another replica.
const DefaultShutdownWatchTerminationGracePeriod = 5 * time.Second

// Options are the command-line options: k8s.io/apiserver's recommended set with etcd
// replaced by MySQL.
type Options struct {
	RecommendedOptions *genericoptions.RecommendedOptions
	// ServerRun holds --request-timeout, --max-requests-inflight and their kin.
	ServerRun   *genericoptions.ServerRunOptions
	MySQL       *options.MySQLOptions
	Controllers *options.ControllersOptions
	Retention   *options.RetentionOptions
	RunPolicy   *options.RunPolicyOptions
	Logs        *logs.Options
	// APIAudiences are the audiences of the bearer tokens accepted from direct callers.
	APIAudiences []string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	o := &Options{
		RecommendedOptions: genericoptions.NewRecommendedOptions("", apiserver.Codecs.LegacyCodec(v1beta1.SchemeGroupVersion)),
		ServerRun:          genericoptions.NewServerRunOptions(),
		MySQL:              options.NewMySQLOptions(),
		Controllers:        options.NewControllersOptions(),
		Retention:          options.NewRetentionOptions(),
		RunPolicy:          options.NewRunPolicyOptions(),
		Logs:               logs.NewOptions(),
		APIAudiences:       []string{DefaultAPIAudience},
	}
	// Storage is MySQL; no etcd flags.
	o.RecommendedOptions.Etcd = nil
	o.ServerRun.ShutdownWatchTerminationGracePeriod = DefaultShutdownWatchTerminationGracePeriod
	return o
}

// Flags returns the flags in named sections, as kube-apiserver prints them.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	r := o.RecommendedOptions
	o.ServerRun.AddUniversalFlags(fss.FlagSet("generic"))
	r.SecureServing.AddFlags(fss.FlagSet("secure serving"))
	r.Authentication.AddFlags(fss.FlagSet("authentication"))
	fss.FlagSet("authentication").StringSliceVar(&o.APIAudiences, "api-audiences", o.APIAudiences,
		"Audiences of the service-account tokens accepted from callers that reach this server directly. "+
			"kube-apiserver reviews each token for them, so a token minted for another audience is rejected.")
	r.Authorization.AddFlags(fss.FlagSet("authorization"))
	r.Audit.AddFlags(fss.FlagSet("auditing"))
	r.Features.AddFlags(fss.FlagSet("features"))
	r.CoreAPI.AddFlags(fss.FlagSet("core API"))
	r.Admission.AddFlags(fss.FlagSet("admission"))
	r.EgressSelector.AddFlags(fss.FlagSet("egress selector"))
	r.Traces.AddFlags(fss.FlagSet("traces"))
	o.MySQL.AddFlags(fss.FlagSet("mysql"))
	o.Controllers.AddFlags(fss.FlagSet("controllers"))
	o.Retention.AddFlags(fss.FlagSet("retention"))
	o.RunPolicy.AddFlags(fss.FlagSet("run policy"))
	logsapi.AddFlags(o.Logs, fss.FlagSet("logs"))
	utilfeature.DefaultMutableFeatureGate.AddFlag(fss.FlagSet("feature gates"))
	return fss
}

// Complete fills in what the flags leave open.
func (o *Options) Complete() error {
	// Without explicit certificates, serve on self-signed ones (for local use).
	return o.RecommendedOptions.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil,
		[]net.IP{netutils.ParseIPSloppy("127.0.0.1")})
}

// Validate reports every problem at once.
func (o *Options) Validate() error {
	var errs []error
	errs = append(errs, o.RecommendedOptions.Validate()...)
	errs = append(errs, o.ServerRun.Validate()...)
	errs = append(errs, o.MySQL.Validate()...)
	errs = append(errs, o.Controllers.Validate()...)
	errs = append(errs, o.Retention.Validate()...)
	errs = append(errs, o.RunPolicy.Validate()...)
	if len(o.APIAudiences) == 0 {
		errs = append(errs, fmt.Errorf("--api-audiences must name at least one audience, or tokens minted for kube-apiserver would be accepted"))
	}
	if err := logsapi.ValidateAndApply(o.Logs, utilfeature.DefaultFeatureGate); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.NewAggregate(errs)
}

// LongRunning tells the requests that the --request-timeout does not cut: watches,
// and runs/log, which follows a step's log for as long as the step runs (kube-apiserver
// treats pods/log the same way).
func LongRunning(_ *http.Request, info *genericapirequest.RequestInfo) bool {
	return info.IsResourceRequest && (info.Verb == "watch" || info.Subresource == "log")
}

// Config builds the server configuration.
func (o *Options) Config() (*apiserver.Config, error) {
	serverConfig := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	namer := openapi.NewDefinitionNamer(apiserver.Scheme)
	serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIConfig.Info.Title = "pipelines-apiserver"
	serverConfig.OpenAPIConfig.Info.Version = "v1beta1"
	serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIV3Config.Info.Title = "pipelines-apiserver"
	serverConfig.OpenAPIV3Config.Info.Version = "v1beta1"
	if err := o.ServerRun.ApplyTo(&serverConfig.Config); err != nil {
		return nil, err
	}
	if err := o.RecommendedOptions.ApplyTo(serverConfig); err != nil {
		return nil, err
	}
	serverConfig.LongRunningFunc = LongRunning
	applyAuthentication(serverConfig, o.APIAudiences)
	var storage mysqlstorage.Config
	if err := o.MySQL.ApplyTo(&storage); err != nil {
		return nil, err
	}
	controllers := o.Controllers.ApplyTo()
	if controllers != nil {
		controllers.DefaultServiceAccount = o.RunPolicy.DefaultServiceAccount
		controllers.WorkflowPolicy = o.RunPolicy.Workflow
	}
	return &apiserver.Config{
		GenericConfig: serverConfig,
		ExtraConfig: apiserver.ExtraConfig{
			Storage:       storage,
			StoragePrefix: o.MySQL.Prefix,
			Controllers:   controllers,
			Retention:     o.Retention.ApplyTo(controllers),
			Registry:      registry.Options{WorkflowPolicy: o.RunPolicy.Workflow},
		},
	}, nil
}

// Run starts the server and blocks until ctx ends.
func (o *Options) Run(ctx context.Context) error {
	config, err := o.Config()
	if err != nil {
		return err
	}
	server, err := config.Complete().New(ctx)
	if err != nil {
		return err
	}
	// The database is closed once the server has drained its requests.
	defer func() { _ = server.Backend.Close() }()
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// NewCommand returns the pipelines-apiserver command.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "pipelines-apiserver",
		Short: "Serve machine-learning pipelines as Kubernetes resources, stored in MySQL",
		Long: "pipelines-apiserver serves experiments, runs, jobs, pipelines and pipeline versions under " +
			"pipelines.kubeflow.org/v1beta1 as a Kubernetes aggregated API server, with MySQL as its store.",
		SilenceUsage: true,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%q does not take any arguments, got %q", cmd.CommandPath(), args)
			}
			return nil
		},
	}
	cmd.SetContext(ctx)
	fss := o.Flags()
	for _, fs := range fss.FlagSets {
		cmd.Flags().AddFlagSet(fs)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}
