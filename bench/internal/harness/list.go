package harness

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/client-go/rest"
)

// CountList is the benchmarks' raw LIST reference: it lists path (an API path such as
// /api/v1/namespaces/x/configmaps) in pages of 500, decoding each page only as far as its items,
// and returns how many there were.
func CountList(ctx context.Context, client rest.Interface, path string) (int, error) {
	total, cont := 0, ""
	for {
		req := client.Get().AbsPath(path).Param("limit", "500")
		if cont != "" {
			req = req.Param("continue", cont)
		}
		body, err := req.DoRaw(ctx)
		if err != nil {
			return total, fmt.Errorf("list %s: %w", path, err)
		}
		var page struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return total, fmt.Errorf("list %s: %w", path, err)
		}
		total += len(page.Items)
		if page.Metadata.Continue == "" {
			return total, nil
		}
		cont = page.Metadata.Continue
	}
}
