package bounded

import "fmt"

// CheckJSONDepth returns an error wrapping ErrTooDeep when objects and
// arrays in data nest deeper than depth (1 allows one object of scalars).
// It looks only at nesting, in one pass and without allocating; the
// decoder that follows judges the syntax.
func CheckJSONDepth(data []byte, depth int) error {
	level, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			level++
			if level > depth {
				return fmt.Errorf("%w: objects and arrays nest more than %d levels deep", ErrTooDeep, depth)
			}
		case c == '}' || c == ']':
			level--
		}
	}
	return nil
}
