package importer

import "fmt"

// The formats below are being written; until then Parse refuses them.
func (p *parser) inspectJSON([]byte) error { return fmt.Errorf("format inspect: not yet supported") }
func (p *parser) inspectCSV([]byte) error  { return fmt.Errorf("format inspect: not yet supported") }
func (p *parser) promptfooYAML([]byte) error {
	return fmt.Errorf("format promptfoo: not yet supported")
}
func (p *parser) promptfooCSV([]byte) error { return fmt.Errorf("format promptfoo: not yet supported") }
func (p *parser) namedCSV([]byte) error     { return fmt.Errorf("format csv: not yet supported") }
func looksLikeYAML([]byte) bool             { return false }

var (
	csvPromptColumns   = []string{"prompt", "input", "question"}
	csvExpectedColumns = []string{"expected_answer", "expected", "answer", "ideal", "target"}
)
