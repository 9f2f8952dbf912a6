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

package apiserver

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller"
)

// controllersStopTimeout bounds how long shutdown waits for the controllers to stop and
// release their lease.
const controllersStopTimeout = 10 * time.Second

// addControllers starts the run executor and the job scheduler once the server serves,
// talking to it through the loopback connection and to kube-apiserver as kube. On
// shutdown, before the server stops serving, they stop and release their lease, so
// another replica takes over at once.
func addControllers(s *genericapiserver.GenericAPIServer, cfg controller.Config, kube *rest.Config) error {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	var started atomic.Bool
	err := s.AddPostStartHook("start-pipelines-controllers", func(hook genericapiserver.PostStartHookContext) error {
		cfg.Pipelines = hook.LoopbackClientConfig
		cfg.Kube = kube
		controllers, err := controller.New(cfg)
		if err != nil {
			return err
		}
		context.AfterFunc(hook, cancel)
		started.Store(true)
		go func() {
			defer close(stopped)
			if err := controllers.Run(klog.NewContext(ctx, klog.FromContext(hook))); err != nil {
				klog.FromContext(hook).Error(err, "Controllers stopped")
			}
		}()
		return nil
	})
	if err != nil {
		cancel()
		return fmt.Errorf("starting the controllers: %w", err)
	}
	return s.AddPreShutdownHook("stop-pipelines-controllers", func() error {
		cancel()
		if !started.Load() {
			return nil
		}
		select {
		case <-stopped:
		case <-time.After(controllersStopTimeout):
			klog.InfoS("Controllers did not stop in time", "timeout", controllersStopTimeout)
		}
		return nil
	})
}
