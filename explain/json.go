package explain

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as one indented JSON document, the schema
// docs/explain.md describes.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
