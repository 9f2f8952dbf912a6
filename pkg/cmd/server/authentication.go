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

package server

import (
	"net/http"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/frontproxy"
)

// DefaultAPIAudience is the audience of the service-account tokens this server
// accepts from callers that reach it directly (notebooks, CI), bypassing
// kube-apiserver. A token minted for kube-apiserver is not one of them: whoever holds
// it could otherwise replay it here, and the reverse.
const DefaultAPIAudience = "pipelines.kubeflow.org"

// anonymousPaths are the only paths an unauthenticated caller may reach: the health
// checks of kubelet and load balancers. Anywhere else such a caller gets 401, so a
// request that forges X-Remote-User without the front proxy's certificate is
// rejected as unauthenticated rather than served as system:anonymous.
var anonymousPaths = map[string]bool{"/healthz": true, "/readyz": true, "/livez": true}

// applyAuthentication sets the audiences tokens are reviewed for, puts the front
// proxy's authenticator with its cache of verified certificates before the
// delegating authenticator (whose own front-proxy step verifies the chain on every
// request, and now sees only the requests the cached one refused), and confines
// anonymous requests to the health checks.
func applyAuthentication(c *genericapiserver.RecommendedConfig, audiences []string) {
	c.Authentication.APIAudiences = audiences
	if c.Authentication.Authenticator == nil {
		return
	}
	if rh := c.Authentication.RequestHeaderConfig; rh != nil {
		c.Authentication.Authenticator = group.NewAuthenticatedGroupAdder(
			union.New(frontproxy.New(rh), c.Authentication.Authenticator))
	}
	c.Authentication.Authenticator = anonymousOnlyForHealth{c.Authentication.Authenticator}
}

type anonymousOnlyForHealth struct {
	authenticator.Request
}

func (a anonymousOnlyForHealth) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	resp, ok, err := a.Request.AuthenticateRequest(req)
	if ok && resp.User.GetName() == user.Anonymous && !anonymousPaths[req.URL.Path] {
		return nil, false, nil
	}
	return resp, ok, err
}
