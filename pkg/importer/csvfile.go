package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// csvRow is one record of a CSV file with the line it starts on.
type csvRow struct {
	line   int
	fields []string
}

// csvFile is a CSV file read whole: its header (trimmed) and rows.
type csvFile struct {
	header []string
	rows   []csvRow
}

// col returns the index of the column named name (case-insensitive), or
// -1.
func (f *csvFile) col(names ...string) int {
	for i, h := range f.header {
		for _, n := range names {
			if strings.EqualFold(h, n) {
				return i
			}
		}
	}
	return -1
}

// readCSV reads a CSV file with a header row. A record that cannot be
// read, or has another number of fields than the header, is reported on
// its line and left out; rows whose fields are all blank are skipped, as
// inspect_ai and promptfoo skip them. It counts every other row as an
// item (ErrTooMany past MaxQuestions).
func (p *parser) readCSV(body []byte) (*csvFile, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	f := &csvFile{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			p.fail(pe.StartLine, "", "malformed CSV: %s", pe.Err)
			if f.header == nil {
				// Without a header no row can be read.
				return nil, nil
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		if f.header == nil {
			f.header = make([]string, len(rec))
			for i, h := range rec {
				f.header[i] = strings.TrimSpace(h)
				if f.header[i] == "" {
					p.fail(line, "", "column %d of the header row has no name", i+1)
				}
			}
			continue
		}
		if blank(rec) {
			continue
		}
		if err := p.item(); err != nil {
			return nil, err
		}
		if len(rec) != len(f.header) {
			p.fail(line, "", "has %d fields, the header has %d", len(rec), len(f.header))
			continue
		}
		f.rows = append(f.rows, csvRow{line: line, fields: rec})
	}
	if f.header == nil {
		return nil, nil
	}
	return f, nil
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}
