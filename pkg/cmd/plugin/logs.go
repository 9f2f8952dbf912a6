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
	"io"
	"strconv"

	"github.com/spf13/cobra"
)

type logsOptions struct {
	*options
	step   string
	follow bool
	tail   int64
}

// logsOf reads the argument of logs as the actions read theirs.
var logsOf = action{verb: "logs", resources: []resource{runs}}

func newLogsCommand(o *options) *cobra.Command {
	l := &logsOptions{options: o}
	cmd := &cobra.Command{
		Use:   "logs [run] NAME",
		Short: "Print the logs of a run",
		Long:  "Print the logs of a run's steps, or of one step, as the server streams them.",
		Example: `  kubectl pipelines logs my-run -n team-a
  kubectl pipelines logs my-run --step train -f
  kubectl pipelines logs run/my-run --tail 20`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := logsOf.targets(args)
			if err != nil {
				return err
			}
			if len(targets) != 1 {
				return fmt.Errorf("logs takes one run, not %d", len(targets))
			}
			return l.run(cmd.Context(), targets[0].name)
		},
	}
	cmd.Flags().StringVar(&l.step, "step", "", "Print the logs of this step only")
	cmd.Flags().BoolVarP(&l.follow, "follow", "f", false, "Keep streaming the logs as they are written")
	cmd.Flags().Int64Var(&l.tail, "tail", -1, "Lines of recent log to print; -1 prints them all")
	return cmd
}

func (l *logsOptions) run(ctx context.Context, name string) error {
	cs, ns, err := l.client()
	if err != nil {
		return err
	}
	req := cs.PipelinesV1beta1().RESTClient().Get().
		Namespace(ns).Resource(runs.plural).Name(name).SubResource("log")
	if l.step != "" {
		req = req.Param("step", l.step)
	}
	if l.follow {
		req = req.Param("follow", "true")
	}
	if l.tail >= 0 {
		req = req.Param("tailLines", strconv.FormatInt(l.tail, 10))
	}
	stream, err := req.Stream(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = io.Copy(l.streams.Out, stream)
	return err
}
