// Package api holds LoanDesk's HTTP contracts. openapi.yaml is the API's own
// contract (served at /api/openapi.yaml, the source of the SPA's types);
// scoring.yaml and identity.yaml document the two external services.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Scoring is api/scoring.yaml: the scoring service's contract, which its
// stand-in (internal/provider/scoring) validates every request against.
//
//go:embed scoring.yaml
var Scoring []byte

// Identity is api/identity.yaml, likewise.
//
//go:embed identity.yaml
var Identity []byte
