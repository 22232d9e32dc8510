package ui

import (
	"context"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// listAll reads pages of a list until it ends, stop says to, or max items are read; truncated
// says whether items were left unread.
func listAll[T any](ctx context.Context, max int, page func(ctx context.Context, cursor string) (vaultv1.List[T], error), stop func(T) bool) (items []T, truncated bool, err error) {
	cursor := ""
	for {
		list, err := page(ctx, cursor)
		if err != nil {
			return nil, false, err
		}
		for _, it := range list.Items {
			if stop != nil && stop(it) {
				return items, false, nil
			}
			if len(items) == max {
				return items, true, nil
			}
			items = append(items, it)
		}
		if list.Next == "" {
			return items, false, nil
		}
		cursor = list.Next
	}
}
