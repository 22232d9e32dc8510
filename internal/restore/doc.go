// Package restore puts the objects of a recovery point back into a cluster, the same or another:
// in dependency order, cleaned of what the server sets, with namespace and storage class mapping,
// resource modifiers, a conflict policy for objects that exist, owner references re-pointed at
// the restored owners, and a dry run that reports per object what would happen, with a diff.
package restore
