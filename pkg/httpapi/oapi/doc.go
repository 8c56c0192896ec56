// Package oapi is generated from SABE's OpenAPI document
// (pkg/httpapi/openapi.yaml) by oapi-codegen: the request and response types,
// the Echo ServerInterface with its RegisterHandlers, the StrictServerInterface
// that the API's handlers implement, and the document itself (GetSwagger).
//
// Nothing here is edited by hand: change openapi.yaml and run
// `go generate ./pkg/httpapi/oapi`. Keeping the types generated from the
// document is what stops the served document and the code from drifting.
package oapi

//go:generate go tool -modfile=../../../tools.mod oapi-codegen -config config.yaml ../openapi.yaml
