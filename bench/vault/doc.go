// Package vault holds the vault benchmark of issue 7 (docs/benchmarks.md, "Vault"): a vault with
// 5,000 backup instances on SQLite and on PostgreSQL, its scheduling lag at the top of the hour,
// the time 50 agents take to drain the hour's jobs, the latency of listing jobs and recovery
// points through the API, and the memory of the vault process. It prints a Markdown table.
//
//	go test -run '^TestVault$' -count=1 -timeout 60m -v ./bench/vault -args -vault
//
// The benchmark is a test, not a command, because it starts its PostgreSQL server with
// internal/pgtest, a test helper. Without -vault the test is skipped, so `go test ./...` does not
// run it. Each database is measured in a process of its own (the test binary running itself), so
// that each one's peak RSS is its own; the PostgreSQL server is a process apart and not counted.
// Flags (after -args): -vault.databases sqlite,postgres, -vault.instances 5000, -vault.clusters
// 50, -vault.points 20 (recovery points of history per instance), -vault.clients 8 (concurrent
// API clients), -vault.requests 1000 (requests per list shape), -vault.replicas 1 (PostgreSQL: API
// servers each over a store of its own, its own connections as a replica process has, the first
// also running the scheduler; the clients take them in turn).
//
// Setup, per database: one vault, -vault.clusters clusters, -vault.instances instances spread
// evenly over them, and as many policies as a cluster has instances (an instance is unique per
// cluster and policy), all backing up every hour with five retention variants, some in the
// Europe/Berlin time zone. The clusters, policies and instances are made through the store;
// the history (-vault.points hourly succeeded backup jobs and their recovery points per
// instance, with the expiries retention gives them) is inserted straight into the tables in one
// transaction, because 100,000 jobs made one commit at a time take minutes on SQLite.
//
// Measured, in order, on the scheduler's injected clock (it runs in real time from where it is
// set, so the stored times show when each write happened):
//
//   - tick at the hour: the clock is set 5 ms past the top of the hour (where the scheduler's
//     loop ticks, at the start of each minute) and the loop (Scheduler.Run) makes its first tick:
//     it must queue one backup per instance, and leaves retention to the next tick. Lag is how
//     late after the hour the last due backup was queued, on the scheduler's clock once the
//     transaction holding it committed (when an agent can claim it; until 2026-12-06 the bench
//     took the last job's creation time, which is earlier by the rest of its transaction);
//   - metrics scrape at the hour: one scrape of the vault's metrics (metrics.Handler) with the
//     hour's backups queued, which must read the whole store;
//   - steady tick: the next Tick, which must queue nothing and runs retention over every live
//     recovery point: the cost the vault pays every 15 s;
//   - drain: one agent per cluster, all at once, claims (jobs.Claim) and completes (jobs.Complete,
//     with a recovery point) its cluster's jobs until none is left;
//   - API: the handler of internal/vault/api on a loopback listener, a reader token, -vault.clients
//     concurrent clients, -vault.requests requests of each shape: GET /api/v1/jobs and GET
//     /api/v1/recovery-points, each as the default page (100), filtered by a random instance, and
//     with a cursor 95% down the list. Clients and server share the machine's cores;
//   - the API while the scheduler ticks: the clock moves to the next hour and the loop's tick (every
//     instance's backup queued again, the last hour's having been drained) runs while
//     -vault.clients clients list jobs (the default page) without pause; the tick's lag and the
//     latency of the requests made during it;
//   - memory: the peak RSS (VmHWM, reset after setup through /proc/self/clear_refs) and the peak
//     Go heap (runtime.ReadMemStats every 50 ms) from the tick at the hour to the end.
package vault
