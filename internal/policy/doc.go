// Package policy is the vault's model of a backup policy, after Azure Kubernetes Service backup
// policies: a schedule (every N hours, daily at a wall-clock time, or a cron expression, in an
// IANA time zone) and retention rules (a default lifetime, longer lifetimes for the first
// successful recovery point of each day, week, month and year, and a guard for the newest N),
// and an optional copy tier: which scheduled backups also copy their volumes into the repository
// (every N-th, or the first of each UTC day) and the copies' own retention.
//
// It parses and validates policies, computes when backups are due and which of them copy, and
// decides per tier what retention deletes of each recovery point. It does no I/O and never reads
// the clock: every time is passed in.
package policy
