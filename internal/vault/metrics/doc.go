// Package metrics is the vault's Prometheus metrics (docs/design/monitoring.md): gauges read from
// the store at each scrape, so every vault process over one database reports the same, and the
// scraped process's own counters and histograms of its scheduler ticks and API requests. Labels
// are bounded: vaults, kinds, states, instances, clusters and route patterns, never a recovery
// point's, job's or user's name.
package metrics
