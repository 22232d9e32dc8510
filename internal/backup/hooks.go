package backup

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/internal/archive"
)

// runPreHooks runs the backup hooks' pre-hooks in the pods of the namespaces in scope. It returns
// false when a hook that must not fail failed: the backup then captures nothing.
func (b *run) runPreHooks(ctx context.Context, namespaces []string) bool {
	if b.opts.Hooks == nil {
		return true
	}
	execs, warnings, err := b.opts.Hooks.Pre(ctx, namespaces)
	b.recordHooks(execs, warnings)
	if err != nil {
		b.addError(fmt.Sprintf("pre-hook failed, nothing was backed up: %v", err))
		return false
	}
	return true
}

// runPostHooks runs the post-hooks of every pod the pre-hooks selected, whatever happened since:
// a pod that was frozen must be thawed.
func (b *run) runPostHooks(ctx context.Context) {
	if b.opts.Hooks == nil {
		return
	}
	execs, warnings, err := b.opts.Hooks.Post(ctx)
	b.recordHooks(execs, warnings)
	if err != nil {
		b.addError(fmt.Sprintf("post-hook failed: %v", err))
	}
}

func (b *run) recordHooks(execs []archive.HookExecution, warnings []string) {
	b.mu.Lock()
	b.hooks = append(b.hooks, execs...)
	b.mu.Unlock()
	for _, w := range warnings {
		b.addWarning("hook: " + w)
	}
}
