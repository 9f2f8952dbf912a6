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

package ui

import (
	"mime"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinefile"
)

// UploadResult is what an upload answers.
type UploadResult struct {
	// Version is the name of the version created (or found identical).
	Version string `json:"version"`
	// PipelineCreated says the pipeline did not exist and was created.
	PipelineCreated bool `json:"pipelineCreated"`
}

// upload adds the compiled pipeline in the request body as a version of the pipeline
// named by the query parameter pipeline (created if absent), exactly as
// `kubectl pipelines upload` does and with the same code (pkg/pipelinefile), so the UI
// tells a KFP v1 workflow from a 2.x IR as the plugin does. Query parameters version
// and description are optional. The requests go to kube-apiserver as the user.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	// A type no HTML form can send: a page of another site cannot post here without a
	// CORS preflight, which this server never answers, even where a proxy's cookie
	// would go along (in a cluster).
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/octet-stream" {
		writeStatus(w, statusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
			"the compiled pipeline must be sent as the body, Content-Type: application/octet-stream"))
		return
	}
	q := r.URL.Query()
	up := &pipelinefile.Upload{Pipeline: q.Get("pipeline"), Version: q.Get("version"), Description: q.Get("description")}
	if up.Pipeline == "" {
		writeStatus(w, apierrors.NewBadRequest(field.Required(field.NewPath("pipeline"), "the name of the pipeline to add the version to").Error()))
		return
	}
	c, err := h.client(r)
	if err != nil {
		writeStatus(w, err)
		return
	}
	// Read stops at its limit, and says so.
	def, err := pipelinefile.Read(r.Body)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest("file: "+err.Error()))
		return
	}
	up.Definition = def
	res, err := up.Do(r.Context(), c.PipelinesV1beta1(), r.PathValue("namespace"))
	if err != nil {
		writeStatus(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, UploadResult{Version: res.Version, PipelineCreated: res.PipelineCreated})
}
