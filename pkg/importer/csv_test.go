package importer_test

import (
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
)

func TestParse_CSV(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatCSV, "questions.csv", importer.Options{})
		wantRecords(t, res, []lineJSON{
			{2, `{"category":"math","expected_answer":"4","key":"add","metadata":{"difficulty":"easy"},"prompt":"What is 2 + 2?","scoring":{"method":"numeric"}}`},
			{3, `{"category":"geography","expected_answer":"Paris","key":"capital-fr","messages":[{"content":"Answer with one word.","role":"system"},{"content":"What is the capital of France?","role":"user"}],"scoring":{"method":"contains"}}`},
			{4, `{"category":"astronomy","choices":["Venus","Mercury","Mars"],"expected_answer":"B","key":"closest","metadata":{"difficulty":"medium"},"prompt":"Which planet is closest to the Sun?","scoring":{"method":"multiple_choice"}}`},
		})
	})
	t.Run("OKTemplate", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatCSV, "questions-template.csv", importer.Options{PromptTemplate: "What is the capital of {{ country }}?"})
		wantRecords(t, res, []lineJSON{
			{2, `{"expected_answer":"Paris","key":"capital-fr","metadata":{"country":"France"},"prompt":"What is the capital of France?","scoring":{"method":"contains"}}`},
			{3, `{"expected_answer":"Rome","key":"capital-it","metadata":{"country":"Italy"},"prompt":"What is the capital of Italy?","scoring":{"method":"contains"}}`},
		})
	})
	t.Run("ErrNoTemplate", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatCSV, example(t, "questions-template.csv"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(1, "", "the header has no prompt column (prompt, input or question) and the suite has no prompt_template to render the other columns into"),
		})
	})
	t.Run("ErrTemplateVar", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatCSV, example(t, "questions-template.csv"), importer.Options{PromptTemplate: "{{country}}: {{ city }}?"})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(2, "city", "is used by the suite's prompt_template ({{city}}) but not given"),
			lineErr(3, "city", "is used by the suite's prompt_template ({{city}}) but not given"),
		})
	})
	t.Run("ErrBroken", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatCSV, example(t, "broken-questions.csv"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(3, "method", `"fuzzy" is not a scoring method`),
			lineErr(4, "choices", "must be a JSON array of strings or options separated by |: unexpected end of JSON input"),
			lineErr(5, "", "has 2 fields, the header has 5"),
		})
	})
	t.Run("ErrRepeatedColumn", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatCSV, []byte("prompt,question,answer\na,b,c\n"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(1, "question", "repeats column prompt (prompt, input, question are the same column): keep one"),
		})
	})
}
