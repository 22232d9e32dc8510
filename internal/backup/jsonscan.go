package backup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// A backup reads every byte of a cluster's objects three times if it decodes them with
// encoding/json: once to split a list page into items, once to validate each, once to read an
// item's head. This file holds one validating scanner that does all of it in a pass, finding
// values by their bytes and decoding only the few small ones the backup reads (names, labels,
// annotations): on a large cluster the JSON decoding was the largest part of a backup's CPU.

// maxDepth bounds the nesting of a scanned value, as encoding/json does.
const maxDepth = 10000

var errTruncated = errors.New("unexpected end of JSON input")

// syntaxError names what was found where a value, or a part of one, was expected.
func syntaxError(data []byte, i int, what string) error {
	if i >= len(data) {
		return errTruncated
	}
	return fmt.Errorf("invalid character %q at offset %d, want %s", data[i], i, what)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func scanNested(data []byte, i, depth int) (int, error) {
	if i >= len(data) {
		return 0, errTruncated
	}
	switch c := data[i]; {
	case c == '"':
		return scanString(data, i)
	case c == '{':
		if depth >= maxDepth {
			return 0, errors.New("JSON nested too deep")
		}
		return scanMembers(data, i, depth+1, scanAny)
	case c == '[':
		if depth >= maxDepth {
			return 0, errors.New("JSON nested too deep")
		}
		return scanElements(data, i, depth+1, scanAny)
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(data, i)
	case c == 't':
		return scanLiteral(data, i, "true")
	case c == 'f':
		return scanLiteral(data, i, "false")
	case c == 'n':
		return scanLiteral(data, i, "null")
	}
	return 0, syntaxError(data, i, "a value")
}

// scanAny validates the value at data[i], whatever its key or place.
func scanAny(data []byte, _ []byte, i, depth int) (int, error) { return scanNested(data, i, depth) }

// scanMembers validates the object at data[i] and returns the offset past it. member validates
// each member's value, at data[start], given its key (its bytes between the quotes, escapes not
// undone), and returns the offset past it: scanAny, or one that reads the values it wants as it
// validates them.
func scanMembers(data []byte, i, depth int, member func(data, key []byte, start, depth int) (int, error)) (int, error) {
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return 0, syntaxError(data, i, "a member name")
		}
		end, err := scanString(data, i)
		if err != nil {
			return 0, err
		}
		key := data[i+1 : end-1]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return 0, syntaxError(data, i, "':' after a member name")
		}
		if i, err = member(data, key, skipSpace(data, i+1), depth); err != nil {
			return 0, err
		}
		more := false
		if i, more, err = afterValue(data, i, '}', "an object"); err != nil || !more {
			return i, err
		}
	}
}

// scanElements validates the array at data[i] and returns the offset past it; elem validates
// each element, at data[start], and returns the offset past it.
func scanElements(data []byte, i, depth int, elem func(data, key []byte, start, depth int) (int, error)) (int, error) {
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = elem(data, nil, i, depth); err != nil {
			return 0, err
		}
		more := false
		if i, more, err = afterValue(data, i, ']', "an array"); err != nil || !more {
			return i, err
		}
	}
}

// afterValue reads what follows a member or an element at data[i]: a ',' (it returns the offset
// of the next one, and more) or closing (the offset past it).
func afterValue(data []byte, i int, closing byte, in string) (next int, more bool, err error) {
	i = skipSpace(data, i)
	switch {
	case i >= len(data):
		return 0, false, errTruncated
	case data[i] == ',':
		return skipSpace(data, i+1), true, nil
	case data[i] == closing:
		return i + 1, false, nil
	}
	return 0, false, syntaxError(data, i, fmt.Sprintf("',' or '%c' in %s", closing, in))
}

// scanString validates the string at data[i] (its opening quote) and returns the offset past its
// closing quote. Like encoding/json, it refuses control characters and unknown escapes and lets
// any other byte through.
func scanString(data []byte, i int) (int, error) {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			i++
			if i >= len(data) {
				return 0, errTruncated
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return 0, errTruncated
				}
				for _, h := range data[i+1 : i+5] {
					if !isHex(h) {
						return 0, fmt.Errorf("invalid \\u escape at offset %d", i)
					}
				}
				i += 4
			default:
				return 0, fmt.Errorf("invalid escape %q at offset %d", data[i], i)
			}
		case c < 0x20:
			return 0, fmt.Errorf("control character %#x in a string at offset %d", c, i)
		}
	}
	return 0, errTruncated
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber validates the number at data[i], in JSON's grammar.
func scanNumber(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && isDigit(data[i]):
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return 0, syntaxError(data, i, "a digit")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || !isDigit(data[i]) {
			return 0, syntaxError(data, i, "a digit after '.'")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return 0, syntaxError(data, i, "a digit in an exponent")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	return i, nil
}

func scanLiteral(data []byte, i int, lit string) (int, error) {
	if !bytes.HasPrefix(data[i:], []byte(lit)) {
		return 0, syntaxError(data, i, lit)
	}
	return i + len(lit), nil
}

// isKey tells whether a member's key, as scanObject gives it, is name; keys with escapes are
// decoded first.
func isKey(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == name
	}
	var s string
	return json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &s) == nil && s == name
}

// stringValue decodes a member's value that must be a string (or null).
func stringValue(value []byte) (string, error) {
	if len(value) >= 2 && value[0] == '"' && bytes.IndexByte(value, '\\') < 0 {
		return string(value[1 : len(value)-1]), nil
	}
	var s string
	if err := json.Unmarshal(value, &s); err != nil {
		return "", err
	}
	return s, nil
}
