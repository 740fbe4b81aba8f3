// Package api holds LoanDesk's HTTP contracts. openapi.yaml is the API's own
// contract (served at /api/openapi.yaml, the source of the SPA's types);
// scoring.yaml and identity.yaml document the two external services.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
