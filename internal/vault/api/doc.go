// Package api is the vault's REST API (docs/design/vault.md, "API"): JSON over HTTP under
// /api/v1, bearer tokens looked up in the store, one route table that both registers the routes
// and states the least role each needs, JSON errors of the form
// {"error":{"code","message","field"}}, and an audit line per request. The OpenAPI document it
// serves (openapi.json, embedded) is kept identical to docs/api/openapi.json.
package api
