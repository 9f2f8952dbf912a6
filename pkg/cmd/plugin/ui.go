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
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/ui"
)

type uiOptions struct {
	*options
	address        string
	port           int
	forwardedToken bool
}

func newUICommand(o *options) *cobra.Command {
	u := &uiOptions{options: o}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web UI on 127.0.0.1, acting as you",
		Long: `Serve the web UI and print its URL (nothing is opened). Every request the UI makes goes
to kube-apiserver with your kubeconfig's identity, so you see and may do exactly what RBAC
allows you. The URL carries a secret token: other pages and other local users cannot use
the server.

With --forwarded-token the server has no identity at all and acts with the bearer token
an authenticating proxy in front of it forwards: that is how it runs in a cluster
(see docs/ui.md).`,
		Example: `  kubectl pipelines ui
  kubectl pipelines ui --context alice --port 8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return u.run(ctx)
		},
	}
	cmd.Flags().StringVar(&u.address, "address", "127.0.0.1", "Address to listen on; anything but a loopback address needs --forwarded-token")
	cmd.Flags().IntVar(&u.port, "port", 0, "Port to listen on; 0 picks a free one")
	cmd.Flags().BoolVar(&u.forwardedToken, "forwarded-token", false,
		"Act with the bearer token an authenticating proxy forwards with each request, never with the kubeconfig's credentials")
	return cmd
}

func (u *uiOptions) run(ctx context.Context) error {
	ip := net.ParseIP(u.address)
	if !u.forwardedToken && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--address %s: the UI acts with your credentials and listens on a loopback address only, unless --forwarded-token", u.address)
	}
	cfg, err := u.configFlags.ToRESTConfig()
	if err != nil {
		return err
	}
	opts := ui.Options{Config: cfg, ForwardedToken: u.forwardedToken}
	if u.forwardedToken {
		opts.Config = rest.AnonymousClientConfig(cfg)
	} else if opts.Namespace, _, err = u.configFlags.ToRawKubeConfigLoader().Namespace(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(u.address, strconv.Itoa(u.port)))
	if err != nil {
		return err
	}
	defer func() { _ = l.Close() }()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	url := "http://" + net.JoinHostPort(u.address, port) + "/"
	if !u.forwardedToken {
		host := net.JoinHostPort(u.address, port)
		if opts.Guard, err = ui.NewGuard(host, net.JoinHostPort("localhost", port)); err != nil {
			return err
		}
		url = opts.Guard.URL(host)
	}
	h, err := ui.New(opts)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		_ = srv.Close() // watches and followed logs do not end by themselves
	}()
	fmt.Fprintf(u.streams.Out, "Serving the pipelines UI at %s\n", url)
	klog.V(2).InfoS("Serving the UI", "address", l.Addr().String(), "forwardedToken", u.forwardedToken)
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
