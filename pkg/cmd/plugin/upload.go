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

package plugin

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinefile"
)

type uploadOptions struct {
	*options
	name, version, description string
}

func newUploadCommand(o *options) *cobra.Command {
	u := &uploadOptions{options: o}
	cmd := &cobra.Command{
		Use:   "upload FILE --name NAME",
		Short: "Upload a compiled pipeline as a version of a pipeline",
		Long: `Upload a compiled pipeline as a version of a pipeline.

FILE is a compiled pipeline, YAML or JSON: an Argo Workflow as the Kubeflow Pipelines
v1 SDK compiles it, or a pipeline IR (PipelineSpec) as the KFP 2.x SDK compiles it, with
its optional second document, the Kubernetes platform spec. It may also be a .tar.gz,
.tgz or .zip package holding exactly one such file; "-" reads standard input. The
pipeline NAME is created if it does not exist. The version is named by --version, or
else NAME-HASH where HASH is taken from the definition, so uploading the same
pipeline again changes nothing and prints the same name. The version's name is printed.`,
		Example: `  kubectl pipelines upload pipeline.yaml --name train -n team-a
  kubectl pipelines upload pipeline.tar.gz --name train --version v2 --description "bigger batches"
  VERSION=$(kubectl pipelines upload pipeline.yaml --name train)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return u.run(cmd.Context(), args[0])
		},
	}
	cmd.Flags().StringVar(&u.name, "name", "", "Name of the pipeline the version belongs to; it is created if it does not exist")
	cmd.Flags().StringVar(&u.version, "version", "", "Name of the pipeline version (default NAME-HASH, from the workflow)")
	cmd.Flags().StringVar(&u.description, "description", "", "Description of the version, and of the pipeline if it is created")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (u *uploadOptions) run(ctx context.Context, file string) error {
	def, err := u.read(file)
	if err != nil {
		return err
	}
	cs, ns, err := u.client()
	if err != nil {
		return err
	}
	up := &pipelinefile.Upload{Pipeline: u.name, Version: u.version, Description: u.description, Definition: def}
	res, err := up.Do(ctx, cs.PipelinesV1beta1(), ns)
	if res.PipelineCreated {
		fmt.Fprintf(u.streams.ErrOut, "pipeline.%s/%s created\n", v1beta1.GroupName, u.name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(u.streams.Out, res.Version)
	return nil
}

// read returns the definition in file ("-": standard input).
func (u *uploadOptions) read(file string) (*v1beta1.PipelineVersionSpec, error) {
	r := u.streams.In
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	def, err := pipelinefile.Read(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return def, nil
}
