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

// Package plugin is the kubectl plugin kubectl-pipelines: the pipelines.kubeflow.org
// actions that are not plain create, get or delete (archive, terminate, enable, ...),
// uploading a compiled pipeline as a version, and following a run's logs. It reads
// the kubeconfig and takes the connection flags kubectl does.
package plugin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
)

// NewCommand returns the kubectl-pipelines command, writing to streams. Tests can run it
// in-process with SetArgs and ExecuteContext; errors keep the API status they carry,
// so apierrors.IsForbidden and the like work on them.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{
		configFlags: genericclioptions.NewConfigFlags(true).WithWarningPrinter(streams),
		streams:     streams,
	}
	cmd := &cobra.Command{
		Use:   "kubectl-pipelines",
		Short: "Act on Kubeflow Pipelines objects served by pipelines.kubeflow.org",
		Long: `Act on Kubeflow Pipelines objects (pipelines.kubeflow.org/v1beta1): archive and
unarchive experiments and runs, terminate and retry runs, enable and disable recurring
runs (jobs), upload compiled pipelines and read run logs.

Everything else is plain kubectl: kubectl get kfp, kubectl describe run NAME, ...`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl pipelines"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	o.configFlags.AddFlags(cmd.PersistentFlags())
	addKlogFlags(cmd.PersistentFlags())
	for _, a := range actions {
		cmd.AddCommand(newActionCommand(o, a))
	}
	cmd.AddCommand(newUploadCommand(o), newLogsCommand(o), newUICommand(o))
	return cmd
}

// Run runs the command with args and returns the process's exit code, printing an
// error as kubectl does.
func Run(ctx context.Context, streams genericiooptions.IOStreams, args []string) int {
	cmd := NewCommand(streams)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		printError(streams.ErrOut, err)
		return 1
	}
	return 0
}

// options are what every subcommand shares: the connection flags and the streams.
type options struct {
	configFlags *genericclioptions.ConfigFlags
	streams     genericiooptions.IOStreams
}

// client returns a clientset for the configured cluster and the namespace to act in.
func (o *options) client() (versioned.Interface, string, error) {
	ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	cfg, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return nil, "", err
	}
	cs, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	return cs, ns, nil
}

// addKlogFlags adds the two klog flags people use with kubectl, -v and --vmodule
// (-v=6 and up logs the requests made).
func addKlogFlags(fs *pflag.FlagSet) {
	gofs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gofs)
	for _, name := range []string{"v", "vmodule"} {
		fs.AddGoFlag(gofs.Lookup(name))
	}
}

// printError writes err as kubectl does: "Error from server (Reason): ..." for API
// errors, "error: ..." for the rest, one line per error joined by errors.Join.
func printError(w io.Writer, err error) {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			printError(w, e)
		}
		return
	}
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &status) && status.Status().Reason != "":
		fmt.Fprintf(w, "Error from server (%s): %v\n", status.Status().Reason, err)
	case errors.As(err, &status):
		fmt.Fprintf(w, "Error from server: %v\n", err)
	default:
		fmt.Fprintf(w, "error: %v\n", err)
	}
}
