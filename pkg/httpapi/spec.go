package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// loadSpec decodes and validates the document embedded in the generated code
// once per process: decoding it takes milliseconds and every caller wants the
// same document.
var loadSpec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := oapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("load openapi document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi document: %w", err)
	}
	return doc, nil
})

// specJSON renders the document once; it never changes while the process runs.
var specJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := loadSpec()
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode openapi document: %w", err)
	}
	return data, nil
})

// Spec returns SABE's OpenAPI document, the one the generated package oapi
// was made from, validated. The document is shared by every caller and must
// not be modified.
func Spec() (*openapi3.T, error) {
	return loadSpec()
}

// SpecJSON returns SABE's OpenAPI document encoded as JSON, as served at
// /openapi.json. The slice is shared by every caller and must not be modified.
func SpecJSON() ([]byte, error) {
	return specJSON()
}
