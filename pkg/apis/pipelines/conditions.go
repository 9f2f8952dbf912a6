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

package pipelines

// Conditions and reasons the server's controllers set, part of the API's contract.
const (
	// ConditionSynced is False when a controller cannot act on an object as stored. It is
	// removed once the controller acts on the object again.
	ConditionSynced = "Synced"
	// ReasonInvalidSpec: the stored object fails validation (it was stored by an older
	// version or written straight into the database); the controller skips it until it
	// is changed. The message names the fields.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonInternalError: the controller failed on the object unexpectedly (a panic,
	// recovered and logged with its stack); it tries again later, backing off.
	ReasonInternalError = "InternalError"
)
