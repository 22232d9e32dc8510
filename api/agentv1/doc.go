// Package agentv1 is version 1 of the protocol between the vault and its agents
// (docs/design/vault.md, "Agent protocol"): the messages of the agent routes, the job kinds and
// their specs, and how the two sides say which version they speak and what they can do. It is a
// contract between two programs that upgrade apart, so it changes only by addition, announced as
// a capability; it imports nothing of cairn.
package agentv1
