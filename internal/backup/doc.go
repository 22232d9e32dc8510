// Package backup captures the API objects of a cluster into a recovery point: discovery of every
// served resource at its preferred version, parallel paginated listing streamed straight into the
// archive writer, the scope's filters, and the cluster-scoped objects that namespaced ones depend on.
package backup
