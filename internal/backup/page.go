package backup

import (
	"encoding/json"
	"fmt"
)

// listPage is the part of a list response the backup reads.
type listPage struct {
	continueToken, resourceVersion string
	items                          []pageItem
}

// pageItem is one item of a list page: its bytes, as the apiserver sent them, and its head.
type pageItem struct {
	raw  []byte
	head itemHead
}

// itemHead is the part of an item the backup decides on.
type itemHead struct {
	APIVersion string
	Kind       string
	// Type is a Secret's type ("" for most other kinds).
	Type     string
	Metadata struct {
		Name        string
		Namespace   string
		Labels      map[string]string
		Annotations map[string]string
	}
}

// scanPage validates a list response and reads its metadata and each item's head, in one pass
// over its bytes (jsonscan.go).
func scanPage(body []byte) (listPage, error) {
	var p listPage
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return p, syntaxError(body, i, "'{' starting a list")
	}
	end, err := scanMembers(body, i, 1, func(data, key []byte, start, depth int) (int, error) {
		switch {
		case isKey(key, "metadata"):
			return scanObjectOrNull(data, start, depth, "the list's metadata", func(data, key []byte, start, depth int) (int, error) {
				switch {
				case isKey(key, "continue"):
					return scanStringInto(data, start, &p.continueToken)
				case isKey(key, "resourceVersion"):
					return scanStringInto(data, start, &p.resourceVersion)
				}
				return scanNested(data, start, depth)
			})
		case isKey(key, "items"):
			if start < len(data) && data[start] == 'n' {
				return scanLiteral(data, start, "null")
			}
			if start >= len(data) || data[start] != '[' {
				return 0, syntaxError(data, start, "'[' starting the items")
			}
			return scanElements(data, start, depth+1, func(data, _ []byte, start, depth int) (int, error) {
				h, end, err := scanItem(data, start, depth)
				if err != nil {
					return 0, err
				}
				p.items = append(p.items, pageItem{raw: data[start:end], head: h})
				return end, nil
			})
		}
		return scanNested(data, start, depth)
	})
	if err != nil {
		return p, err
	}
	if end = skipSpace(body, end); end != len(body) {
		return p, syntaxError(body, end, "the end of the list")
	}
	return p, nil
}

// scanItem validates the item at data[i], an object, and reads its head.
func scanItem(data []byte, i, depth int) (itemHead, int, error) {
	var h itemHead
	if i >= len(data) || data[i] != '{' {
		return h, 0, syntaxError(data, i, "'{' starting an item")
	}
	end, err := scanMembers(data, i, depth+1, func(data, key []byte, start, depth int) (int, error) {
		switch {
		case isKey(key, "apiVersion"):
			return scanStringInto(data, start, &h.APIVersion)
		case isKey(key, "kind"):
			return scanStringInto(data, start, &h.Kind)
		case isKey(key, "type"):
			return scanStringInto(data, start, &h.Type)
		case isKey(key, "metadata"):
			return scanObjectOrNull(data, start, depth, "the item's metadata", func(data, key []byte, start, depth int) (int, error) {
				switch {
				case isKey(key, "name"):
					return scanStringInto(data, start, &h.Metadata.Name)
				case isKey(key, "namespace"):
					return scanStringInto(data, start, &h.Metadata.Namespace)
				case isKey(key, "labels"):
					return scanMapInto(data, start, depth, &h.Metadata.Labels)
				case isKey(key, "annotations"):
					return scanMapInto(data, start, depth, &h.Metadata.Annotations)
				}
				return scanNested(data, start, depth)
			})
		}
		return scanNested(data, start, depth)
	})
	return h, end, err
}

// scanObjectOrNull validates the value at data[start], an object whose members member reads (as
// scanMembers does) or null; what names it in an error.
func scanObjectOrNull(data []byte, start, depth int, what string, member func(data, key []byte, start, depth int) (int, error)) (int, error) {
	switch {
	case start < len(data) && data[start] == '{':
		return scanMembers(data, start, depth+1, member)
	case start < len(data) && data[start] != 'n':
		return 0, syntaxError(data, start, "an object ("+what+")")
	}
	return scanNested(data, start, depth)
}

// scanStringInto validates the value at data[start], a string or null, and decodes it into dst.
func scanStringInto(data []byte, start int, dst *string) (int, error) {
	end, err := scanNested(data, start, 0)
	if err != nil {
		return 0, err
	}
	if *dst, err = stringValue(data[start:end]); err != nil {
		return 0, fmt.Errorf("at offset %d: %w", start, err)
	}
	return end, nil
}

// scanMapInto validates the value at data[start], an object of strings or null, and decodes it
// into dst.
func scanMapInto(data []byte, start, depth int, dst *map[string]string) (int, error) {
	end, err := scanNested(data, start, depth)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(data[start:end], dst); err != nil {
		return 0, fmt.Errorf("at offset %d: %w", start, err)
	}
	return end, nil
}
